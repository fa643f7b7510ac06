"""Child processes left running or unwaited (zombies), read through ``/proc``."""

from __future__ import annotations

import os

from isoscan.explain.state.base import Change, Context, StateKind, clip

PROCESS = "process"

ChildState = dict[int, tuple[str, str]] | None  # pid -> (state letter, command line)


class Children(StateKind[ChildState]):
    name = PROCESS

    def take(self, ctx: Context) -> ChildState:
        if not os.path.isdir("/proc/self"):
            return None
        me = os.getpid()
        out = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as stream:
                    stat = stream.read()
                fields = stat[stat.rfind(")") + 2:].split()
                if int(fields[1]) != me:
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as stream:
                    cmdline = stream.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except (OSError, ValueError, IndexError):
                continue
            out[int(entry)] = (fields[0], cmdline)
        return out

    def diff(self, before: ChildState, after: ChildState, ctx: Context) -> list[Change]:
        if before is None or after is None:
            return []
        changes = []
        for pid, (state, cmdline) in sorted(after.items()):
            if pid in before:
                continue
            summary = "exited, never waited for (zombie)" if state == "Z" else \
                f"still running: {clip(cmdline, 160) if cmdline else '?'}"
            words = cmdline.split()
            changes.append(Change(PROCESS, f"pid {pid}", "left-open", summary,
                                  ("Popen", "subprocess",
                                   *(os.path.basename(w) for w in words[:1])),
                                  {"pid": str(pid), "cmdline": cmdline}))
        return changes
