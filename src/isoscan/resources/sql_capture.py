"""Tables each test reads and writes, from the statements its database drivers run.

- sqlite3: the connection's statement trace (``set_trace_callback``), set on every connection
  as it is opened (the ``sqlite3.connect/handle`` audit event), so a connection opened before
  the test is traced too;
- psycopg 3: ``Cursor.execute``/``executemany`` (``Connection.execute`` goes through them);
- psycopg2: the cursors of connections opened through ``psycopg2.connect``;
- SQLAlchemy: the engine-wide ``before_cursor_execute`` event.

Statements are parsed by ``sql.tables_of``. A table the test writes is counted (on a side
connection, with tracking muted) before its first write and when the test ends: more rows at
the end than before means the test leaves rows behind (``Access.LEAVE``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from typing import Any

from .active import Collector, current, watch_leftovers
from .model import Access, Resource, ResourceKind
from .sql import Dialect, tables_of

_local = threading.local()
_patched: set[str] = set()
# Counts a table's rows; None when it cannot (no such table, locked, server gone).
Counter = Callable[[str], "int | None"]


def note_sqlite_database(raw: object) -> None:
    """The database of the ``sqlite3.connect`` being made (its handle event follows)."""
    _local.sqlite_path = None
    if isinstance(raw, (str, bytes, os.PathLike)):
        name = os.fsdecode(raw)
        if name and name != ":memory:" and not name.startswith("file:"):
            _local.sqlite_path = os.path.abspath(name)


def trace_sqlite(connection: object) -> None:
    """A connection just made (its handle event): its trace is set once ``connect`` has
    returned, since a connection still being made refuses a trace callback."""
    path = getattr(_local, "sqlite_path", None)
    _local.sqlite_path = None
    if path is not None and isinstance(connection, sqlite3.Connection):
        _pending.append((connection, path))  # no weak references to a Connection


def trace_pending() -> None:
    """Sets the statement trace of every connection made since the last call."""
    while _pending:
        connection, path = _pending.pop()
        with contextlib.suppress(sqlite3.Error):
            connection.set_trace_callback(_tracer(path))


_pending: list[tuple[sqlite3.Connection, str]] = []


def _tracer(path: str) -> Callable[[str], None]:
    label = f"sqlite {path}"
    counter = _sqlite_counter(path)

    def trace(statement: str) -> None:
        _seen(statement, Dialect.SQLITE, label, counter)

    return trace


def _install_sqlite3() -> None:
    # sqlite3.connect is wrapped so a connection's trace is set before its first statement;
    # connections made through a reference taken earlier get theirs at the next test's start.
    if "sqlite3" in _patched:
        trace_pending()
        return
    _patched.add("sqlite3")
    original: Any = sqlite3.connect

    @functools.wraps(original)
    def connect(*args: Any, **kwargs: Any) -> Any:
        connection = original(*args, **kwargs)
        trace_pending()
        return connection

    setattr(sqlite3, "connect", connect)  # noqa: B010 - typeshed's overloads do not fit
    trace_pending()


def _sqlite_counter(path: str) -> Counter:
    def count(table: str) -> int | None:
        # A read-only side connection that gives up at once on a lock: a count is a hint.
        side = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2)
        try:
            row = side.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            return int(row[0])
        except sqlite3.Error:
            return None
        finally:
            side.close()
    return count


def _seen(statement: object, dialect: Dialect, label: str, counter: Counter | None) -> None:
    tracker = current()
    if tracker is None or not isinstance(statement, str):
        return
    try:
        for table, access in tables_of(statement, dialect):
            tracker.add(ResourceKind.TABLE, table, access, label)
            if access is Access.WRITE and counter is not None:
                _watch_rows(tracker, label, table, counter)
    except Exception:
        return  # recording must never break the test's own statement


def _watch_rows(tracker: Collector, label: str, table: str, counter: Counter) -> None:
    def left(before: object, after: object) -> Resource | None:
        more = isinstance(after, int) and after > (before if isinstance(before, int) else 0)
        return Resource(ResourceKind.TABLE, table, Access.LEAVE, label) if more else None

    watch_leftovers(tracker, ("rows", label, table), lambda: _safe_count(counter, table), left)


def _safe_count(counter: Counter, table: str) -> int | None:
    try:
        return counter(table)
    except Exception:
        return None


# --- PostgreSQL -----------------------------------------------------------------------------

def pg_label(host: object, port: object, dbname: object) -> str:
    return f"postgresql {host or 'localhost'}:{port or 5432}/{dbname or ''}"


_pg_side: dict[str, Any] = {}  # one autocommit side connection per database, per process


def _psycopg_counter(connection: Any, label: str) -> Counter:
    def count(table: str) -> int | None:
        import psycopg

        side = _pg_side.get(label)
        if side is None or side.closed:
            info = connection.info
            params = dict(info.get_parameters())
            if info.password:
                params["password"] = info.password
            side = psycopg.connect(autocommit=True, connect_timeout=2, **params)
            _pg_side[label] = side
        found = side.execute("SELECT to_regclass(%s)", (table,)).fetchone()
        if found is None or found[0] is None:
            return None
        row = side.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()
        return int(row[0]) if row is not None else None
    return count


def _quoted(table: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))


def _install_psycopg() -> None:
    module = sys.modules.get("psycopg")
    if module is None or not hasattr(module, "Cursor") or "psycopg" in _patched:
        return
    _patched.add("psycopg")
    cursor_class = module.Cursor

    def label_of(cursor: Any) -> tuple[str, Counter]:
        connection = cursor.connection
        info = connection.info
        label = pg_label(info.host, info.port, info.dbname)
        return label, _psycopg_counter(connection, label)

    def text_of(cursor: Any, query: Any) -> str | None:
        if isinstance(query, str):
            return query
        if isinstance(query, bytes):
            return query.decode("utf-8", "replace")
        as_string = getattr(query, "as_string", None)  # psycopg.sql.Composable
        return str(as_string(cursor.connection)) if as_string is not None else None

    for name in ("execute", "executemany"):
        original = getattr(cursor_class, name)

        def wrapped(self: Any, query: Any, *args: Any, __original: Any = original,
                    **kwargs: Any) -> Any:
            if current() is not None:
                try:
                    label, counter = label_of(self)
                    _seen(text_of(self, query), Dialect.POSTGRES, label, counter)
                except Exception:
                    pass
            return __original(self, query, *args, **kwargs)

        setattr(cursor_class, name, wrapped)


def _install_psycopg2() -> None:
    module = sys.modules.get("psycopg2")
    extensions = sys.modules.get("psycopg2.extensions")
    # Both, complete: psycopg2's __init__ imports extensions before it defines connect.
    if module is None or extensions is None or not hasattr(module, "connect") \
            or "psycopg2" in _patched:
        return
    _patched.add("psycopg2")
    base = extensions.cursor

    class TracedCursor(base):  # type: ignore[misc, valid-type]
        def execute(self, query: Any, vars: Any = None) -> Any:
            _seen_psycopg2(self, query)
            return super().execute(query, vars)

        def executemany(self, query: Any, vars_list: Any) -> Any:
            _seen_psycopg2(self, query)
            return super().executemany(query, vars_list)

    original_connect = module.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cursor_factory", TracedCursor)
        return original_connect(*args, **kwargs)

    setattr(module, "connect", connect)  # noqa: B010 - a module mypy knows no stub for


def _seen_psycopg2(cursor: Any, query: Any) -> None:
    if current() is None:
        return
    try:
        info = cursor.connection.info
        text = query if isinstance(query, str) else getattr(query, "as_string", str)(cursor)
        _seen(text if isinstance(text, str) else None, Dialect.POSTGRES,
              pg_label(info.host, info.port, info.dbname), None)
    except Exception:
        return


def _install_sqlalchemy() -> None:
    event = sys.modules.get("sqlalchemy.event")
    engine = sys.modules.get("sqlalchemy.engine")
    if event is None or engine is None or not hasattr(engine, "Engine") \
            or "sqlalchemy" in _patched:
        return
    _patched.add("sqlalchemy")
    Engine = engine.Engine

    def before(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
               executemany: bool) -> None:
        if current() is None:
            return
        url = conn.engine.url
        name = conn.dialect.name
        if name == "sqlite":
            if not url.database or url.database == ":memory:":
                return
            _seen(statement, Dialect.SQLITE, f"sqlite {os.path.abspath(url.database)}", None)
        elif name == "postgresql":
            _seen(statement, Dialect.POSTGRES, pg_label(url.host, url.port, url.database), None)

    event.listen(Engine, "before_cursor_execute", before)


def install() -> None:
    """Patches the drivers imported so far (each once)."""
    _install_sqlite3()
    _install_psycopg()
    _install_psycopg2()
    _install_sqlalchemy()
