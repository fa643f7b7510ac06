"""Process state, captured twice and diffed: what a test changed and did not restore.

Pure Python, no pytest: the snapshot plugin calls ``capture`` before the polluter and after it,
then ``diff``. Every kind of state (a module of this package each) is cheap and bounded, because
it runs inside the user's test process: globals are compared by a structural fingerprint bounded
in depth and size, file trees by a bounded walk of (size, mtime), descriptors and child
processes through ``/proc``.

Each difference is a ``Change``: a kind, the name of the thing that changed, a one-line summary,
and the terms (keys, names, file names) a victim's source would mention if it depends on it.
"""

from __future__ import annotations

import time
from typing import Any

from isoscan.explain.state.asyncio_state import ASYNCIO, Asyncio
from isoscan.explain.state.base import Change, Context, Snapshot, StateKind
from isoscan.explain.state.descriptors import FD, SOCKET, Descriptors
from isoscan.explain.state.environment import (
    CWD,
    ENV,
    LOCALE,
    TIMEZONE,
    UMASK,
    Cwd,
    Environ,
    Locale,
    Timezone,
    Umask,
)
from isoscan.explain.state.files import FILE, Files
from isoscan.explain.state.globals import (
    CLASS,
    GLOBAL,
    MAPPING,
    OBJECT,
    OTHER,
    SEQUENCE,
    SET,
    Globals,
    read_global,
)
from isoscan.explain.state.interpreter import (
    RECURSION,
    SOCKET_TIMEOUT,
    SYS_ARGV,
    SYS_MODULES,
    SYS_PATH,
    RecursionLimit,
    SocketTimeout,
    SysArgv,
    SysModules,
    SysPath,
)
from isoscan.explain.state.logging_state import LOGGING, Logging
from isoscan.explain.state.processes import PROCESS, Children
from isoscan.explain.state.signals import SIGNAL, Signals
from isoscan.explain.state.threads import THREAD, Threads
from isoscan.explain.state.user import USER, UserState
from isoscan.explain.state.warnings_state import WARNINGS, Warnings

__all__ = [
    "ASYNCIO", "CLASS", "CWD", "ENV", "FD", "FILE", "GLOBAL", "KINDS", "LOCALE", "LOGGING",
    "MAPPING", "OBJECT", "OTHER", "PROCESS", "RECURSION", "SECTIONS", "SEQUENCE", "SET", "SIGNAL",
    "SOCKET", "SOCKET_TIMEOUT", "SYS_ARGV", "SYS_MODULES", "SYS_PATH", "THREAD", "TIMEZONE",
    "UMASK", "USER", "WARNINGS", "Change", "Context", "Snapshot", "StateKind", "capture", "diff",
    "read_global",
]

# The kinds of state, in the order a report lists them when nothing else ranks them.
KINDS = (ENV, CWD, UMASK, SYS_PATH, SYS_MODULES, SYS_ARGV, RECURSION, SOCKET_TIMEOUT, TIMEZONE,
         LOCALE, GLOBAL, FILE, FD, SOCKET, THREAD, PROCESS, LOGGING, WARNINGS, SIGNAL, ASYNCIO,
         USER)

# Every kind taken, in this order; each names its section of a Snapshot.
SECTIONS: tuple[StateKind[Any], ...] = (
    Environ(), Cwd(), Umask(), SysPath(), SysModules(), SysArgv(), RecursionLimit(),
    SocketTimeout(), Timezone(), Locale(), Globals(), Files(), Descriptors(), Threads(),
    Children(), Logging(), Warnings(), Signals(), Asyncio(), UserState(),
)


def capture(ctx: Context) -> Snapshot:
    """Every kind, each timed; a kind that raises is noted and left out of the diff.
    File descriptors go before the user hook, whose own connections must not count."""
    snap = Snapshot()
    for kind in SECTIONS:
        started = time.perf_counter()
        try:
            snap.sections[kind.name] = kind.take(ctx)
        except Exception as exc:
            snap.notes.append(f"{kind.name}: could not be read ({type(exc).__name__}: {exc})")
        snap.seconds[kind.name] = time.perf_counter() - started
    return snap


def diff(before: Snapshot, after: Snapshot, ctx: Context) -> tuple[list[Change], dict[str, float]]:
    changes: list[Change] = []
    seconds: dict[str, float] = {}
    for kind in SECTIONS:
        if kind.name not in before.sections or kind.name not in after.sections:
            continue
        started = time.perf_counter()
        changes += kind.diff(before.sections[kind.name], after.sections[kind.name], ctx)
        seconds[kind.name] = time.perf_counter() - started
    return changes, seconds
