"""SQLite helpers for the ``orders`` table."""

from __future__ import annotations

import sqlite3

SCHEMA = "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL)"


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute(SCHEMA)
    conn.commit()


def insert_order(conn: sqlite3.Connection, item: str) -> int:
    cur = conn.execute("INSERT INTO orders (item) VALUES (?)", (item,))
    conn.commit()
    assert cur.lastrowid is not None
    return cur.lastrowid


def delete_order(conn: sqlite3.Connection, order_id: int) -> None:
    conn.execute("DELETE FROM orders WHERE id = ?", (order_id,))
    conn.commit()


def count_orders(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
