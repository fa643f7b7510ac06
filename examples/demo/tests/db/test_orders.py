from __future__ import annotations

import sqlite3

from demoapp import orders


class TestOrders:
    def test_polluter_inserts_orders(self, orders_db: sqlite3.Connection) -> None:
        # Inserts rows into the session-wide database and never deletes them.
        orders.insert_order(orders_db, "apple")
        orders.insert_order(orders_db, "pear")

    def test_victim_counts_all_orders(self, orders_db: sqlite3.Connection) -> None:
        # Counts every row in the table instead of only its own, so rows left
        # behind by earlier tests break the exact count.
        order_id = orders.insert_order(orders_db, "plum")
        try:
            assert orders.count_orders(orders_db) == 1
        finally:
            orders.delete_order(orders_db, order_id)

    def test_orders_table_exists(self, orders_db: sqlite3.Connection) -> None:
        row = orders_db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'orders'"
        ).fetchone()
        assert row == ("orders",)
