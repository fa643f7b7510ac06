"""Threads still running after the polluter."""

from __future__ import annotations

import threading

from isoscan.explain.state.base import Change, Context, StateKind, short

THREAD = "thread"

# (ident, id of the Thread object) -> (name, daemon, target)
ThreadState = dict[tuple[int | None, int], tuple[str, bool, str]]


class Threads(StateKind[ThreadState]):
    name = THREAD

    def take(self, ctx: Context) -> ThreadState:
        return {(t.ident, id(t)): (t.name, t.daemon, _thread_target(t))
                for t in threading.enumerate()}

    def diff(self, before: ThreadState, after: ThreadState, ctx: Context) -> list[Change]:
        changes = []
        for key, (name, daemon, target) in after.items():
            if key not in before:
                kind = "daemon" if daemon else "non-daemon"
                changes.append(Change(THREAD, name, "left-open",
                                      f"still running ({kind}, target {target})",
                                      (name, target.rsplit(".", 1)[-1], "Thread"),
                                      {"target": target}))
        return changes


def _thread_target(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None)
    if target is not None:
        return str(getattr(target, "__qualname__", short(target)))
    return f"{type(thread).__qualname__}.run"
