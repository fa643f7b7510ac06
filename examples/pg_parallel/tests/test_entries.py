"""Entries of an account of the test's own.

These tests write the shared table correctly: inside a transaction that is rolled back at the
end, so no other connection ever sees their rows, and they count only their own account.
"""

from __future__ import annotations

import time
import uuid

import pytest

from pgapp import ledger


def own_account(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@pytest.mark.writes_ledger
def test_add_entry_counts_own_rows(conn) -> None:
    account = own_account("entries")
    with conn.transaction(force_rollback=True):
        ledger.add_entry(conn, account, 500)
        ledger.add_entry(conn, account, 250)
        time.sleep(0.1)
        assert ledger.count_entries(conn, account) == 2


@pytest.mark.writes_ledger
def test_total_of_own_rows(conn) -> None:
    account = own_account("entries")
    with conn.transaction(force_rollback=True):
        for cents in (1000, -250, 75):
            ledger.add_entry(conn, account, cents)
        time.sleep(0.1)
        assert ledger.total(conn, account) == 825


@pytest.mark.writes_ledger
def test_delete_account_removes_only_its_rows(conn) -> None:
    mine, other = own_account("entries"), own_account("entries")
    with conn.transaction(force_rollback=True):
        ledger.add_entry(conn, mine, 1)
        ledger.add_entry(conn, other, 2)
        time.sleep(0.05)
        assert ledger.delete_account(conn, mine) == 1
        assert ledger.count_entries(conn, mine) == 0
        assert ledger.count_entries(conn, other) == 1


def test_unknown_account_is_empty(conn) -> None:
    time.sleep(0.05)
    account = own_account("nobody")
    assert ledger.count_entries(conn, account) == 0
    assert ledger.total(conn, account) == 0


@pytest.mark.writes_ledger
def test_entry_ids_increase(conn) -> None:
    account = own_account("entries")
    with conn.transaction(force_rollback=True):
        first = ledger.add_entry(conn, account, 1)
        second = ledger.add_entry(conn, account, 1)
        time.sleep(0.05)
        assert second > first
