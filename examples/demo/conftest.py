from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from demoapp import orders


# The databases this process created, for the isoscan snapshot hook below.
_DATABASES: list[Path] = []


@pytest.hookimpl(optionalhook=True)
def pytest_isoscan_snapshot(config: pytest.Config) -> dict[str, int]:
    # Lets `isoscan explain` see rows a test leaves in the shared table: state outside
    # Python objects that no generic snapshot can see.
    counts = {}
    for path in _DATABASES:
        conn = sqlite3.connect(path)
        try:
            counts["rows.orders"] = orders.count_orders(conn)
        finally:
            conn.close()
    return counts


@pytest.fixture(scope="session")
def orders_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A fresh file per pytest process (and per xdist worker, since each has
    # its own basetemp), so nothing leaks between runs; rows leak only
    # between tests of the same process.
    path = tmp_path_factory.mktemp("orders") / "orders.sqlite"
    _DATABASES.append(path)
    conn = sqlite3.connect(path)
    try:
        orders.create_schema(conn)
    finally:
        conn.close()
    return path


@pytest.fixture
def orders_db(orders_db_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(orders_db_path)
    try:
        yield conn
    finally:
        conn.close()
