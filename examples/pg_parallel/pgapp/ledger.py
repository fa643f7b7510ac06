"""Ledger entries in the PostgreSQL table ledger_entries.

Every function takes an open psycopg connection. Amounts are integer cents. The functions
that take ``account`` look at that account's rows only; without it they see the whole table.
"""

from __future__ import annotations

from typing import Any

TABLE = "ledger_entries"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id         bigserial   PRIMARY KEY,
    account    text        NOT NULL,
    amount     bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


def create_schema(conn: Any) -> None:
    conn.execute(SCHEMA)


def add_entry(conn: Any, account: str, amount: int) -> int:
    """Adds one entry and returns its id."""
    row = conn.execute(
        f"INSERT INTO {TABLE} (account, amount) VALUES (%s, %s) RETURNING id",
        (account, amount),
    ).fetchone()
    return int(row[0])


def count_entries(conn: Any, account: str | None = None) -> int:
    if account is None:
        row = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    else:
        row = conn.execute(
            f"SELECT count(*) FROM {TABLE} WHERE account = %s", (account,)
        ).fetchone()
    return int(row[0])


def total(conn: Any, account: str | None = None) -> int:
    """The sum of the amounts, in cents (0 for no entries)."""
    if account is None:
        row = conn.execute(f"SELECT COALESCE(SUM(amount), 0) FROM {TABLE}").fetchone()
    else:
        row = conn.execute(
            f"SELECT COALESCE(SUM(amount), 0) FROM {TABLE} WHERE account = %s", (account,)
        ).fetchone()
    return int(row[0])


def delete_account(conn: Any, account: str) -> int:
    """Deletes the account's entries and returns how many there were."""
    return int(conn.execute(f"DELETE FROM {TABLE} WHERE account = %s", (account,)).rowcount)
