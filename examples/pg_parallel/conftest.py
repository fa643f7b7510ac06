from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from pgapp import ledger

DSN_ENV = "ISOSCAN_TEST_PG_DSN"
NO_SERVER = f"no PostgreSQL server: {DSN_ENV} is not set (.ci/run starts one)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Without a server the whole example is skipped, with one reason.
    if not os.environ.get(DSN_ENV):
        for item in items:
            item.add_marker(pytest.mark.skip(reason=NO_SERVER))


@pytest.hookimpl(optionalhook=True)
def pytest_isoscan_resources(item):
    # Tell isoscan which outside resources a test touches that Python's audit hooks cannot see (libpq bypasses them).
    if "conn" in getattr(item, "fixturenames", ()):
        return [("postgres table", "ledger_entries", "write" if item.get_closest_marker("writes_ledger") else "read")]
    return None


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    dsn = os.environ.get(DSN_ENV)
    if not dsn:
        pytest.skip(NO_SERVER)
    return dsn


@pytest.fixture(scope="session")
def ledger_schema(pg_dsn: str) -> None:
    # Every xdist worker (and every other run on the same server) gets here, maybe at the same
    # moment: two concurrent CREATE TABLE IF NOT EXISTS can both find no table and one then
    # fails on a unique violation. A session-level advisory lock makes them take turns.
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as c:
        c.execute("SELECT pg_advisory_lock(hashtext('isoscan.examples.pg_parallel.schema'))")
        try:
            ledger.create_schema(c)
        finally:
            c.execute("SELECT pg_advisory_unlock(hashtext('isoscan.examples.pg_parallel.schema'))")


@pytest.fixture
def conn(pg_dsn: str, ledger_schema: None) -> Iterator[Any]:
    # Autocommit: what a test writes is visible to every other connection at once, as in the
    # app, so tests running at the same time (pytest -n 2) see each other's rows.
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as c:
        yield c
