"""Which line made an import-time change: a line tracer limited to one module's import.

The import trace (``trace.py``) knows which module's own code changed a piece of state,
but not where: a helper may call a library's setter (``lib.use_chain("b")``) whose body does
``global chain; chain = ...`` several calls deep. A third ``--collect-only`` run watches just
those pieces of state: while the blamed module executes, ``sys.settrace`` checks them at every
line, call and return event, and the first event that sees one changed blames the line that ran
last. Its stack, from the blamed module's own statement down to that line, is what the report
shows. Nothing is traced outside the blamed module's execution, nor inside another module's
body it imports (a library imported for the first time runs a lot of code, and its own import
is not the change looked for), and a budget of events bounds the rest.
"""

from __future__ import annotations

import linecache
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

# Trace events looked at per blamed module before the tracer gives up on the rest.
MAX_EVENTS = 200_000
_MISSING = object()
TraceFunction = Callable[[FrameType, str, Any], Any]


@dataclass(frozen=True)
class Watch:
    """One piece of state to watch: ``key`` as the report names it, ``read`` its value now."""

    key: str
    read: Callable[[], object]


def watch_of(entry: dict[str, str]) -> Watch | None:
    """The watch for one spec entry: a module global (``owner``, ``attr``), an env key, the
    working directory or ``sys.path``; None for any other kind (not pinpointed)."""
    kind = entry.get("kind")
    if kind == "global" and entry.get("owner") and entry.get("attr"):
        owner, attr = entry["owner"], entry["attr"]
        return Watch(entry["name"], lambda: _fingerprint(
            getattr(sys.modules.get(owner), attr, _MISSING)))
    if kind == "env":
        key = entry["name"]
        return Watch(key, lambda: os.environ.get(key))
    if kind == "sys.path":
        return Watch(entry["name"], lambda: tuple(sys.path))
    if kind == "cwd":
        return Watch(entry["name"], os.getcwd)
    return None


def _fingerprint(value: object) -> object:
    if value is _MISSING:
        return _MISSING
    from isoscan.explain.state.globals import read_global

    found = read_global(value)
    return found.ident, found.fp


class Pinpointer:
    """Traces one blamed module's execution; ``found`` maps a watch's key to the stack of the
    line that changed it: ``[(file, line, source), ...]``, the blamed module's statement first.
    Files are rootdir-relative where they lie under it."""

    def __init__(self, module_file: str, watches: list[Watch], rootdir: str) -> None:
        self.module_file = os.path.abspath(module_file)
        self.real = os.path.realpath(module_file)  # a rootdir reached through a symlink
        self.rootdir = rootdir
        self.values = {w.key: w.read() for w in watches}
        self.pending = {w.key: w for w in watches}
        self.found: dict[str, list[tuple[str, int, str]]] = {}
        self.last: tuple[FrameType, int] | None = None
        self.events = 0
        self.nested = 0  # other modules' bodies executing below the traced one
        self.previous: Any = None  # whatever tracer was set before (a coverage tool's)

    def start(self) -> None:
        self.previous = sys.gettrace()
        sys.settrace(self._global)

    def stop(self) -> None:
        sys.settrace(self.previous)

    def _global(self, frame: FrameType, event: str, arg: object) -> TraceFunction | None:
        if self.nested:
            return None
        if not self._check():
            return None
        code = frame.f_code
        if code.co_filename.startswith("<frozen"):
            return None  # the import machinery: its own lines change nothing watched
        if code.co_name == "<module>" and not self._is_module_frame(frame):
            self.nested += 1  # another module's import: skipped until its body returns
            frame.f_trace_lines = False
            return self._nested_return
        return self._local

    def _nested_return(self, frame: FrameType, event: str, arg: object) -> TraceFunction | None:
        if event == "return":
            self.nested -= 1
            if not self.nested:
                # What that import changed is its own doing, not a line of the traced module.
                for key, watch in self.pending.items():
                    self.values[key] = watch.read()
        return self._nested_return

    def _local(self, frame: FrameType, event: str, arg: object) -> TraceFunction | None:
        if not self._check():
            return None
        if event == "line":
            self.last = (frame, frame.f_lineno or 0)
        return self._local

    def _check(self) -> bool:
        """Compares every pending watch with its last value; False once nothing is left to
        watch or the budget is spent (the caller stops tracing)."""
        if not self.pending:
            return False
        self.events += 1
        if self.events > MAX_EVENTS:
            self.pending.clear()
            sys.settrace(self.previous)
            return False
        for key, watch in list(self.pending.items()):
            now = watch.read()
            if now != self.values[key]:
                del self.pending[key]
                if self.last is not None:
                    self.found[key] = self._stack(*self.last)
        return True

    def _stack(self, frame: FrameType, line: int) -> list[tuple[str, int, str]]:
        """From the blamed module's own frame down to ``frame`` at ``line``."""
        frames: list[tuple[FrameType, int]] = [(frame, line)]
        current = frame.f_back
        while not self._is_module_frame(frames[-1][0]):
            if current is None:
                return self._shown(frames[:1])  # not under the module's own code: the line only
            frames.append((current, current.f_lineno or 0))
            current = current.f_back
        return self._shown(frames)

    def _is_module_frame(self, frame: FrameType) -> bool:
        code = frame.f_code
        return code.co_name == "<module>" and (code.co_filename == self.module_file or
                                               os.path.realpath(code.co_filename) == self.real)

    def _shown(self, frames: list[tuple[FrameType, int]]) -> list[tuple[str, int, str]]:
        """Outermost first, less the import machinery's frames and isoscan's own."""
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        kept = [(f.f_code.co_filename, number) for f, number in reversed(frames)
                if not f.f_code.co_filename.startswith(("<frozen", here))]
        return [(self._name(path), number, linecache.getline(path, number).strip())
                for path, number in kept]

    def _name(self, path: str) -> str:
        root = self.rootdir.rstrip(os.sep) + os.sep
        return os.path.relpath(path, self.rootdir).replace(os.sep, "/") \
            if path.startswith(root) else path
