"""An audit log in one SQLite file for every process.

Bug source: the log is shared by all xdist workers (``.demo-shared/audit.sqlite``), and the
report counts every row instead of only the rows of its own correlation id.
"""

from __future__ import annotations

import sqlite3
import uuid

from demoapp.shared import connect

SCHEMA = ("CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, correlation TEXT NOT NULL,"
          " event TEXT NOT NULL)")


def open_log() -> sqlite3.Connection:
    return connect("audit.sqlite", SCHEMA)


def write_events(conn: sqlite3.Connection, events: list[str]) -> list[int]:
    """Writes the events under a fresh correlation id; returns their row ids."""
    correlation = uuid.uuid4().hex
    ids = []
    for event in events:
        cur = conn.execute("INSERT INTO audit (correlation, event) VALUES (?, ?)",
                           (correlation, event))
        assert cur.lastrowid is not None
        ids.append(cur.lastrowid)
    conn.commit()
    return ids


def delete_rows(conn: sqlite3.Connection, ids: list[int]) -> None:
    conn.executemany("DELETE FROM audit WHERE id = ?", [(i,) for i in ids])
    conn.commit()


def count_all(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])
