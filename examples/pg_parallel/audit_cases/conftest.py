"""Cases for `isoscan audit` (docs/audit.md): tests that share PostgreSQL tables with no
pytest_isoscan_resources hook; isoscan sees their statements at psycopg."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

DSN_ENV = "ISOSCAN_TEST_PG_DSN"


@pytest.fixture(scope="session")
def pg_url() -> str:
    dsn = os.environ.get(DSN_ENV)
    if not dsn:
        pytest.skip(f"no PostgreSQL server: {DSN_ENV} is not set (.ci/run starts one)")
    return dsn


@pytest.fixture(scope="session")
def fresh_events(pg_url: str) -> None:
    # A fresh database per CI run: the events table starts empty in every test session (each
    # xdist worker's too). Workers create it under a lock, as they may get here together.
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("SELECT pg_advisory_lock(hashtext('isoscan.examples.audit_events'))")
        try:
            c.execute("CREATE TABLE IF NOT EXISTS audit_events (id bigserial, kind text)")
            c.execute("TRUNCATE audit_events")
        finally:
            c.execute("SELECT pg_advisory_unlock(hashtext('isoscan.examples.audit_events'))")


@pytest.fixture
def pg(pg_url: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as c:
        yield c
