"""A ledger in one SQLite file for every process (``.demo-shared/ledger.sqlite``).

Bug source: the ledger report's tests empty the table once and then assume nothing else
writes to it, but the import test on another xdist worker may add rows in between.
"""

from __future__ import annotations

import sqlite3

from demoapp.shared import connect

SCHEMA = ("CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, account TEXT NOT NULL,"
          " cents INTEGER NOT NULL)")


def open_ledger() -> sqlite3.Connection:
    return connect("ledger.sqlite", SCHEMA)


def add_entry(conn: sqlite3.Connection, account: str, cents: int) -> None:
    conn.execute("INSERT INTO ledger (account, cents) VALUES (?, ?)", (account, cents))
    conn.commit()


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM ledger")
    conn.commit()


def count_entries(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])


def format_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"
