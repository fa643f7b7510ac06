"""Which outside resources a test touches, seen through ``sys.addaudithook``.

An audit hook can never be removed, so there is one per process, installed on the first
``ResourceTracker.start()``; while no tracker is running it returns after one global read.
The hook records plain tuples into a set (atomic under the GIL, so tests' threads are fine)
and builds ``Resource`` objects only when the tracker stops.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, cast
from urllib.parse import unquote

from .active import ACTIVE, AtStop
from .model import Access, Resource, ResourceKind, merged

# The audit event ``isoscan.resources.declare`` raises.
DECLARE_EVENT = "isoscan.resource"

_Seen = tuple[ResourceKind, str, Access, str]
_install_lock = threading.Lock()
_installed = False

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | getattr(os, "O_APPEND", 0)
# O_TMPFILE makes an unnamed file in a directory: nothing another test can reach.
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_WILDCARD_HOSTS: dict[int, str] = {socket.AF_INET: "0.0.0.0", socket.AF_INET6: "::"}
_AF_UNIX = getattr(socket, "AF_UNIX", None)
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "cmd.exe", "cmd"})


class ResourceTracker:
    """Collects the resources touched between ``start()`` and ``stop()``, one test at a time.

    ``ignore_prefixes`` are directories whose files no other test can share, such as pytest's
    basetemp (every ``tmp_path`` is unique). Only one tracker collects at a time: starting a
    tracker takes over from one already running.
    """

    def __init__(self, ignore_prefixes: Sequence[str | os.PathLike[str]] = ()) -> None:
        self._seen: set[_Seen] = set()
        self._at_stop: dict[object, AtStop] = {}
        self._made: set[str] = set()  # files written that did not exist before the test
        self._verdicts: dict[str, str | None] = {}
        self._ignored_exact: set[str] = set()
        self._ignored_under: tuple[str, ...] = ()
        for prefix in _noise_prefixes():
            self._ignore(prefix)
        for path in ignore_prefixes:
            self.add_ignored(path)

    def add_ignored(self, path: str | os.PathLike[str]) -> None:
        """Drop everything at or under ``path`` from now on."""
        self._ignore(os.path.abspath(os.fspath(path)))

    def _ignore(self, path: str) -> None:
        if path == os.sep or not path:
            return  # a prefix of "/" would hide every file
        self._ignored_exact.add(path)
        self._ignored_under = (*self._ignored_under, path.rstrip(os.sep) + os.sep)
        self._verdicts = {}

    @property
    def tracking(self) -> bool:
        return ACTIVE.tracker is self

    def start(self) -> None:
        """Begin collecting for one test, forgetting anything collected before."""
        _install_once()
        from .drivers import install_drivers, watch_imports

        install_drivers()  # patches the drivers imported since the last test (cheap if none)
        watch_imports()  # and those the test itself imports, as soon as they are
        self._seen = set()
        self._at_stop = {}
        self._made = set()
        self._verdicts = {}
        ACTIVE.tracker = self

    def stop(self) -> list[Resource]:
        """Stop collecting; the resources seen, one entry each, sorted."""
        if ACTIVE.tracker is self:
            ACTIVE.tracker = None
        seen, self._seen = self._seen, set()
        found = [Resource(kind, name, access, label) for kind, name, access, label in seen]
        found += [Resource(ResourceKind.FILE, path, Access.LEAVE)
                  for path in self._made if os.path.lexists(path)]
        checks, self._at_stop, self._made = self._at_stop, {}, set()
        for check in checks.values():
            try:
                found.extend(check())
            except Exception:
                continue  # a check that fails (server gone) tells nothing; the test's result stands
        return merged(found)

    def add(self, kind: ResourceKind, name: str, access: Access, label: str = "") -> None:
        """Records one resource for the running test (driver captures call this)."""
        self._seen.add((kind, name, access, label))

    def at_stop(self, key: object, check: AtStop) -> None:
        """Runs ``check`` once when the test ends, the first one given per ``key``; what it
        returns joins what the test touched."""
        self._at_stop.setdefault(key, check)

    def wants_check(self, key: object) -> bool:
        return key not in self._at_stop


    # Everything below runs inside the audit hook: no file access (it would re-enter the
    # hook), nothing slow, and any exception is dropped by the caller.

    def _path(self, raw: object) -> str | None:
        """The absolute path of ``raw``, or None when it is noise or not a path."""
        # An absolute path means the same whatever the cwd, so its verdict is cached: a test
        # opening one file many times would otherwise pay for each open.
        if isinstance(raw, str) and raw.startswith(_ROOT):
            if raw in self._verdicts:
                return self._verdicts[raw]
            verdict = self._resolve(raw)
            if len(self._verdicts) < _VERDICTS_CAP:
                self._verdicts[raw] = verdict
            return verdict
        return self._resolve(raw)

    def _resolve(self, raw: object) -> str | None:
        if not isinstance(raw, (str, bytes, os.PathLike)):
            return None  # an fd: the open that made it was seen already
        path = os.path.abspath(os.fsdecode(raw))
        if path in self._ignored_exact or path.startswith(self._ignored_under):
            return None
        if path.endswith(_NOISE_ENDS) or any(part in path for part in _NOISE_PARTS):
            return None
        return path

    def _add(self, kind: ResourceKind, name: str, access: Access, label: str = "") -> None:
        self._seen.add((kind, name, access, label))

    def _add_path(self, raw: object, access: Access = Access.WRITE) -> None:
        path = self._path(raw)
        if path is not None:
            self._add(ResourceKind.FILE, path, access)


# Installed packages and bytecode, wherever the interpreter keeps them (a path segment).
_NOISE_DIRS = ("site-packages", "dist-packages", "__pycache__")
_NOISE_PARTS = tuple(os.sep + name + os.sep for name in _NOISE_DIRS)
_NOISE_ENDS = (".pyc", *(os.sep + name for name in _NOISE_DIRS))
_NOISE_ROOTS = ("/proc", "/sys", "/dev")
# Only POSIX absolute paths are cached: a Windows path can still hang on the current drive.
_ROOT = "/" if os.sep == "/" else "\0"
_VERDICTS_CAP = 10_000


def _noise_prefixes() -> list[str]:
    # The interpreter's own files: stdlib, installed packages, the venv.
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return [os.path.abspath(root) for root in roots if root] + (
        list(_NOISE_ROOTS) if os.name == "posix" else []
    )


def _install_once() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_audit_hook)
            _installed = True


def prepare() -> None:
    """Installs the hook now, in a process that will track later: a sqlite3 connection opened
    before the first tracked test (at import, in a session fixture) gets its statement trace
    too."""
    _install_once()
    from .drivers import install_drivers, watch_imports
    from .sql import warm

    install_drivers()
    watch_imports()
    warm()


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    # Only a ResourceTracker is ever made active (``start``); no check on this hot path.
    tracker = cast("ResourceTracker | None", ACTIVE.tracker)
    if tracker is None:
        if event in _SQLITE_EVENTS:  # connections outlive tests: traced whenever opened
            _SQLITE_EVENTS[event](args)
        return  # not tracking: this is the whole cost of the hook
    handler = _HANDLERS.get(event)
    if handler is None:
        return
    try:
        handler(tracker, args)
    except Exception:
        return  # raising here would make the test's own call fail


def _on_open(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    raw, mode, flags = args
    if isinstance(flags, int) and _O_TMPFILE and flags & _O_TMPFILE == _O_TMPFILE:
        return
    if isinstance(flags, int):
        writes = bool(flags & _WRITE_FLAGS)  # io.open passes the flags its mode maps to
    else:
        writes = isinstance(mode, str) and any(c in mode for c in "wax+")
    path = t._path(raw)
    if path is None:
        return
    if not writes:
        if path.endswith(".py"):
            return  # an import, or pytest reading a test module
        if mode is None and (os.path.isdir(path) or not os.path.exists(path)):
            # A read-only os.open of a directory walks it (shutil.rmtree, os.fwalk), and
            # those open entries relative to a dir fd this event does not carry.
            return
        t._add(ResourceKind.FILE, path, Access.READ)
        return
    seen = (ResourceKind.FILE, path, Access.WRITE, "")
    if seen in t._seen:
        return  # written before: skip the stat below
    if isinstance(mode, str) and os.path.isdir(path):
        # io.open(dir, "w+", opener=...) precedes tempfile's O_TMPFILE open: unnamed file.
        return
    if not os.path.lexists(path):
        t._made.add(path)  # left behind if it still exists when the test ends
    t._seen.add(seen)


def _relative_to_fd(dir_fd: object) -> bool:
    # Names relative to a directory fd (shutil.rmtree's walk) can't be resolved here; the
    # rmtree event itself names the tree.
    return dir_fd is not None and dir_fd != -1


def _on_remove(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    # os.remove, os.unlink (same event), os.rmdir: (path, dir_fd)
    if len(args) < 2 or not _relative_to_fd(args[1]):
        t._add_path(args[0])


def _on_rename(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    # os.rename and os.replace: (src, dst, src_dir_fd, dst_dir_fd)
    src, dst = args[0], args[1]
    if len(args) < 3 or not _relative_to_fd(args[2]):
        t._add_path(src)
    if len(args) < 4 or not _relative_to_fd(args[3]):
        t._add_path(dst)


def _on_mkdir(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    # (path, mode, dir_fd)
    if len(args) < 3 or not _relative_to_fd(args[2]):
        path = t._path(args[0])
        if path is not None:
            if not os.path.lexists(path):
                t._made.add(path)
            t._add(ResourceKind.FILE, path, Access.WRITE)


def _on_rmtree(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    # (path,) on 3.10, (path, dir_fd) from 3.11
    if len(args) < 2 or not _relative_to_fd(args[1]):
        t._add_path(args[0])


def _on_sqlite(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    _note_sqlite_database(args)
    raw = args[0]
    if not isinstance(raw, (str, bytes, os.PathLike)):
        return
    database = os.fsdecode(raw)
    access = Access.WRITE  # any connection can write
    if database.startswith("file:"):  # a URI (uri=True): file:path?mode=ro&...
        database, _, query = database[len("file:") :].partition("?")
        options = dict(p.partition("=")[::2] for p in query.split("&") if p)
        if options.get("mode") == "memory":
            return
        if options.get("mode") == "ro":
            access = Access.READ
        if database.startswith("//"):  # file://host/path: only an empty host is allowed
            database = database[2:].partition("/")[2]
            database = "/" + database
        database = unquote(database)
    if database in ("", ":memory:"):
        return
    path = t._path(database)
    if path is not None:
        t._add(ResourceKind.SQLITE, path, access)


def _address(t: ResourceTracker, sock: Any, address: object) -> str | None:
    """``host:port`` (``[host]:port`` for IPv6), a path for AF_UNIX; None for port 0."""
    family: int = getattr(sock, "family", -1)
    if _AF_UNIX is not None and family == _AF_UNIX:
        if isinstance(address, (str, bytes)):
            name = os.fsdecode(address)
            if name.startswith("\0"):
                return "@" + name[1:]  # Linux's abstract namespace: a name, not a file
            return t._path(name) if name else None
        return None
    if not isinstance(address, tuple) or len(address) < 2:
        return None
    host, port = address[0], address[1]
    if not isinstance(host, str) or not isinstance(port, int) or port == 0:
        return None  # port 0: the OS picks a free port, nothing to collide on
    host = host or _WILDCARD_HOSTS.get(family, "")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _on_bind(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    name = _address(t, args[0], args[1])
    if name is not None:
        t._add(ResourceKind.PORT, name, Access.BIND)


def _on_connect(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    name = _address(t, args[0], args[1])
    if name is not None:
        t._add(ResourceKind.ENDPOINT, name, Access.CONNECT)


def _on_popen(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    # (executable, args, cwd, env)
    executable, argv = args[0], args[1]
    if isinstance(argv, (str, bytes)):
        argv = [argv]
    argv = [os.fsdecode(a) for a in argv] if isinstance(argv, (list, tuple)) else []
    if executable is None and argv:
        executable = argv[0].split()[0] if argv[0].split() else None
    if executable is None:
        return
    program = os.path.basename(os.fsdecode(executable))
    if program in _SHELLS and len(argv) >= 3 and argv[1] in ("-c", "/c") and argv[2].split():
        # shell=True: the command's own program says more than "sh"
        program = os.path.basename(argv[2].split()[0])
    if program:
        t._add(ResourceKind.PROGRAM, program, Access.RUN)


def _on_declare(t: ResourceTracker, args: tuple[Any, ...]) -> None:
    label, name, access = args
    if not (isinstance(label, str) and isinstance(name, str) and isinstance(access, str)):
        return
    if label and name and access in (Access.READ.value, Access.WRITE.value):
        t._add(ResourceKind.DECLARED, name, Access(access), label)


def _note_sqlite_database(args: tuple[Any, ...]) -> None:
    from .sql_capture import note_sqlite_database

    note_sqlite_database(args[0] if args else None)


def _trace_sqlite(args: tuple[Any, ...]) -> None:
    from .sql_capture import trace_sqlite

    trace_sqlite(args[0] if args else None)


def _untracked_sqlite_connect(args: tuple[Any, ...]) -> None:
    try:
        _note_sqlite_database(args)
    except Exception:
        return


def _untracked_sqlite_handle(args: tuple[Any, ...]) -> None:
    try:
        _trace_sqlite(args)
    except Exception:
        return


_SQLITE_EVENTS: dict[str, Callable[[tuple[Any, ...]], None]] = {
    "sqlite3.connect": _untracked_sqlite_connect,
    "sqlite3.connect/handle": _untracked_sqlite_handle,
}

_HANDLERS: dict[str, Callable[[ResourceTracker, tuple[Any, ...]], None]] = {
    "open": _on_open,
    "os.remove": _on_remove,
    "os.rmdir": _on_remove,
    "os.rename": _on_rename,
    "os.replace": _on_rename,  # CPython raises os.rename for both; kept in case that changes
    "os.mkdir": _on_mkdir,
    "shutil.rmtree": _on_rmtree,
    "sqlite3.connect": _on_sqlite,
    "sqlite3.connect/handle": lambda t, args: _trace_sqlite(args),
    "socket.bind": _on_bind,
    "socket.connect": _on_connect,
    "subprocess.Popen": _on_popen,
    DECLARE_EVENT: _on_declare,
}
