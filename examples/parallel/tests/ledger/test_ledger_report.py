from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import pytest

from demoapp import ledger

# Each test stands for a slow report step.
STEP_SECONDS = 0.4


@pytest.fixture(scope="session", autouse=True)
def _ledger_emptied_once() -> None:
    # Empties the shared ledger once, when this module's first test runs, and then assumes
    # nothing else writes to it. Any serial order passes: pytest-randomly keeps a module's
    # tests together, so no other module's test runs between this and the tests below.
    # Under xdist, the import test on another worker can add rows in between. Session scope
    # (the fixture is only visible to this module) rather than module scope: it is not
    # redone if another module's test runs between two of these tests, as in the workers'
    # orders merged by start time, which therefore reproduce the failure serially.
    conn = ledger.open_ledger()
    try:
        ledger.clear(conn)
    finally:
        conn.close()


@pytest.fixture
def ledger_conn() -> Iterator[sqlite3.Connection]:
    conn = ledger.open_ledger()
    try:
        yield conn
    finally:
        conn.close()


def test_ledger_report_starts_empty(ledger_conn: sqlite3.Connection) -> None:
    # Checks first, then works: rows that break it were written before it started, so they
    # are a leftover of a test that started earlier (on another worker), not a collision.
    assert ledger.count_entries(ledger_conn) == 0
    time.sleep(STEP_SECONDS)


def test_ledger_format_positive() -> None:
    time.sleep(STEP_SECONDS)
    assert ledger.format_cents(1250) == "12.50"


def test_ledger_format_negative() -> None:
    time.sleep(STEP_SECONDS)
    assert ledger.format_cents(-305) == "-3.05"


def test_ledger_format_zero() -> None:
    time.sleep(STEP_SECONDS)
    assert ledger.format_cents(0) == "0.00"
