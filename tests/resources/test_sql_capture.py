"""Tables seen at the drivers (isoscan/resources/sql_capture.py): real sqlite3 and, when
ISOSCAN_TEST_PG_DSN is set, a real PostgreSQL server through psycopg."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from isoscan.resources import Access, Resource, ResourceKind, ResourceTracker
from isoscan.resources.audit import prepare


def tables(found: list[Resource]) -> set[tuple[str, Access, str]]:
    return {(r.name, r.access, r.label) for r in found if r.kind is ResourceKind.TABLE}


def test_sqlite_connection_opened_before_the_test_is_traced(tmp_path: Path) -> None:
    prepare()
    db = tmp_path / "shop.db"
    conn = sqlite3.connect(db)  # before tracking starts, as a session fixture would
    conn.execute("CREATE TABLE orders (id int)")
    conn.execute("CREATE TABLE audit (id int)")
    conn.execute("INSERT INTO audit VALUES (1)")
    conn.commit()
    tracker = ResourceTracker()
    tracker.start()
    conn.execute("INSERT INTO orders VALUES (1)")
    conn.commit()
    conn.execute("SELECT count(*) FROM audit").fetchone()
    found = tracker.stop()
    conn.close()
    label = f"sqlite {db}"
    assert tables(found) == {("orders", Access.WRITE, label), ("orders", Access.LEAVE, label),
                             ("audit", Access.READ, label)}


def test_sqlite_rows_removed_again_are_not_left_behind(tmp_path: Path) -> None:
    prepare()
    db = tmp_path / "clean.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE jobs (id int)")
    conn.commit()
    tracker = ResourceTracker()
    tracker.start()
    conn.execute("INSERT INTO jobs VALUES (1)")
    conn.execute("DELETE FROM jobs")
    conn.commit()
    found = tracker.stop()
    conn.close()
    assert tables(found) == {("jobs", Access.WRITE, f"sqlite {db}")}


def test_psycopg_statements_name_tables_with_the_server(pg_database: str) -> None:
    dsn = pg_database
    import psycopg

    prepare()
    table = f"capture_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (n int)")
        try:
            tracker = ResourceTracker()
            tracker.start()
            conn.execute(f"INSERT INTO {table} VALUES (1)")
            conn.execute("SELECT count(*) FROM pg_class").fetchone()
            found = tracker.stop()
        finally:
            conn.execute(f"DROP TABLE {table}")
        info = conn.info
        label = f"postgresql {info.host}:{info.port}/{info.dbname}"
    assert (table, Access.WRITE, label) in tables(found)
    assert (table, Access.LEAVE, label) in tables(found)
    assert ("pg_class", Access.READ, label) in tables(found)
