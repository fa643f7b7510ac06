"""Tables and access kinds from the SQL parser (isoscan/resources/sql.py)."""

from __future__ import annotations

from isoscan.resources import Access
from isoscan.resources.sql import Dialect, tables_of

R, W = Access.READ, Access.WRITE


def test_insert_select_writes_target_reads_source() -> None:
    assert tables_of("INSERT INTO a (x) SELECT y FROM b", Dialect.POSTGRES) == (
        ("a", W), ("b", R))


def test_drop_truncate_and_create_as_write_their_tables() -> None:
    assert tables_of("DROP TABLE IF EXISTS app.staging", Dialect.POSTGRES) == (
        ("app.staging", W),)
    assert tables_of("TRUNCATE orders, items", Dialect.POSTGRES) == (
        ("items", W), ("orders", W))
    assert tables_of("CREATE TABLE copy AS SELECT * FROM src", Dialect.SQLITE) == (
        ("copy", W), ("src", R))


def test_cte_name_is_not_a_table_and_case_is_folded() -> None:
    assert tables_of("WITH recent AS (SELECT * FROM Events) SELECT * FROM recent",
                     Dialect.POSTGRES) == (("events", R),)


def test_delete_with_subquery_and_update_from() -> None:
    assert tables_of("DELETE FROM t WHERE id IN (SELECT id FROM u)", Dialect.SQLITE) == (
        ("t", W), ("u", R))
    assert tables_of("UPDATE t SET x = w.x FROM w", Dialect.POSTGRES) == (("t", W), ("w", R))


def test_statements_without_tables_or_unparsable_name_nothing() -> None:
    assert tables_of("BEGIN", Dialect.SQLITE) == ()
    assert tables_of("SELECT pg_advisory_lock(1)", Dialect.POSTGRES) == ()
    assert tables_of("this is (( not sql", Dialect.POSTGRES) == ()
