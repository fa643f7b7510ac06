"""Which tables one SQL statement reads and writes, from a real SQL parser (sqlglot).

A statement isoscan cannot parse names no table: it is left out, never guessed at. Results are
cached by statement text, since a test suite runs the same few statements over and over.
"""

from __future__ import annotations

from enum import Enum

from .model import Access

_CACHE_CAP = 4096


class Dialect(str, Enum):
    POSTGRES = "postgres"
    SQLITE = "sqlite"


TableAccess = tuple[str, Access]

_cache: dict[tuple[str, Dialect], tuple[TableAccess, ...]] = {}


def tables_of(statement: str, dialect: Dialect) -> tuple[TableAccess, ...]:
    """``(table, READ|WRITE)`` for every table ``statement`` touches, a table written and read
    once, as written. Names are lower-cased, with their schema when the statement gives one."""
    key = (statement, dialect)
    found = _cache.get(key)
    if found is None:
        found = _parse(statement, dialect)
        if len(_cache) < _CACHE_CAP:
            _cache[key] = found
    return found


def warm() -> None:
    """Imports the parser and builds each dialect's tables now: in a fork server, once, rather
    than again in every child on its first statement (a tenth of a second of CPU each)."""
    for dialect in Dialect:
        _parse("SELECT 1 FROM t", dialect)


def _parse(statement: str, dialect: Dialect) -> tuple[TableAccess, ...]:
    # Imported here: a process that tracks nothing never pays for the parser.
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        parsed = sqlglot.parse(statement, read=dialect.value)
    except (SqlglotError, ValueError, RecursionError):
        return ()
    seen: dict[str, Access] = {}
    for tree in parsed:
        if tree is None:
            continue
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        targets: set[int] = set()
        if isinstance(tree, (exp.Drop, exp.TruncateTable)):
            targets = {id(t) for t in tree.find_all(exp.Table)}
        elif isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create,
                               exp.Alter)):
            target = tree.this
            if isinstance(target, exp.Schema):
                target = target.this
            if isinstance(target, exp.Table):
                targets = {id(target)}
        for table in tree.find_all(exp.Table):
            name = _name(table)
            if not name or (name in ctes and id(table) not in targets):
                continue
            access = Access.WRITE if id(table) in targets else Access.READ
            if seen.get(name) is not Access.WRITE:
                seen[name] = access
    return tuple(sorted(seen.items()))


def _name(table: object) -> str:
    from sqlglot import exp

    if not isinstance(table, exp.Table) or not table.name:
        return ""
    parts = [table.db, table.name] if table.db else [table.name]
    return ".".join(part.lower() for part in parts)
