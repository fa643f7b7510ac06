"""Batch imports into the ledger."""

from __future__ import annotations

import time
import uuid

import pytest

from pgapp import ledger
from pgapp.money import parse_amount

BATCH = ["12.00", "-2.50", "0.99"]


def test_batch_amounts_parse() -> None:
    time.sleep(0.05)
    assert [parse_amount(a) for a in BATCH] == [1200, -250, 99]


@pytest.mark.writes_ledger
def test_import_small_batch_own_account(conn) -> None:
    # Done right: in a transaction rolled back at the end, so no one else sees its row.
    account = f"import-small-{uuid.uuid4().hex}"
    with conn.transaction(force_rollback=True):
        ledger.add_entry(conn, account, parse_amount("1.00"))
        time.sleep(0.1)
        assert ledger.count_entries(conn, account) == 1


@pytest.mark.writes_ledger
def test_import_batch_total(conn) -> None:
    account = f"import-total-{uuid.uuid4().hex}"
    with conn.transaction(force_rollback=True):
        for amount in BATCH:
            ledger.add_entry(conn, account, parse_amount(amount))
        time.sleep(0.05)
        assert ledger.total(conn, account) == 1049


@pytest.mark.writes_ledger
def test_import_batch_writes_entries(conn) -> None:
    # THE CULPRIT. It is correct on its own and cleans up after itself, but it commits as it
    # goes (autocommit, like the real import): its 3 rows are visible to every connection
    # while it runs (~0.3 s, the import's "work"). A test that counts the whole table while
    # they exist sees them - which only happens when both run at the same time (-n 2).
    account = f"import-{uuid.uuid4().hex}"
    try:
        for amount in BATCH:
            ledger.add_entry(conn, account, parse_amount(amount))
        time.sleep(0.3)
        assert ledger.count_entries(conn, account) == 3
    finally:
        ledger.delete_account(conn, account)
