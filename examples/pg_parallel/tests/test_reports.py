"""Reports over the ledger."""

from __future__ import annotations

import time
import uuid

import pytest

from pgapp import ledger
from pgapp.money import format_amount


def test_report_counts_all_entries(conn) -> None:
    # THE VICTIM. A report on a fresh ledger must say "0 entries, total 0.00". It counts the
    # whole table (no account filter), so any other test's rows that exist while it runs
    # show up. Rendering takes ~0.3 s and re-reads the count as it goes, so an overlap with a
    # writer running at the same time is seen reliably. Alone, or after any other test in
    # serial, it passes: every test removes its rows before it ends.
    counts = []
    for _ in range(7):
        counts.append(ledger.count_entries(conn))
        time.sleep(0.05)
    assert counts == [0] * len(counts), f"entries seen while the report ran: {counts}"
    assert format_amount(ledger.total(conn)) == "0.00"


@pytest.mark.writes_ledger
def test_account_report_total(conn) -> None:
    account = f"report-{uuid.uuid4().hex}"
    with conn.transaction(force_rollback=True):
        ledger.add_entry(conn, account, 1234)
        ledger.add_entry(conn, account, -34)
        time.sleep(0.05)
        assert format_amount(ledger.total(conn, account)) == "12.00"


def test_account_report_of_unknown_account(conn) -> None:
    time.sleep(0.05)
    account = f"report-none-{uuid.uuid4().hex}"
    assert ledger.count_entries(conn, account) == 0
    assert format_amount(ledger.total(conn, account)) == "0.00"


def test_report_header_format() -> None:
    time.sleep(0.05)
    assert f"{'entries':<10}{format_amount(0):>10}" == "entries         0.00"


def test_report_negative_total_format() -> None:
    time.sleep(0.05)
    assert format_amount(-1234) == "-12.34"
