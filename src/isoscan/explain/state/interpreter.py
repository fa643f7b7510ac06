"""Interpreter-wide state: sys.path, sys.modules, sys.argv, the recursion limit and the default
socket timeout."""

from __future__ import annotations

import os
import socket
import sys

from isoscan.explain.state.base import (
    Change,
    Context,
    ScalarKind,
    StateKind,
    multiset_diff,
    plural,
    short,
)

SYS_PATH = "sys.path"
SYS_MODULES = "sys.modules"
SYS_ARGV = "sys.argv"
RECURSION = "recursion limit"
SOCKET_TIMEOUT = "socket timeout"

# Imported by pytest and its plugins on demand (e.g. to render a failure): not the test's doing.
_RUNNER_PACKAGES = ("_pytest", "pytest", "pluggy", "py", "iniconfig", "packaging", "isoscan",
                    "xdist", "execnet", "pytest_timeout", "pytest_randomly",
                    "_hypothesis_pytestplugin")


class SysPath(StateKind[list[str]]):
    name = SYS_PATH

    def take(self, ctx: Context) -> list[str]:
        return list(sys.path)

    def diff(self, before: list[str], after: list[str], ctx: Context) -> list[Change]:
        added, removed = multiset_diff(before, after)
        changes = [Change(SYS_PATH, entry, "added", f"added at index {after.index(entry)}",
                          (entry, os.path.basename(entry)), {"entry": entry}) for entry in added]
        changes += [Change(SYS_PATH, entry, "removed", "removed",
                           (entry, os.path.basename(entry)), {"entry": entry})
                    for entry in removed]
        if not changes and before != after:
            changes.append(Change(SYS_PATH, "", "changed", "reordered", ("sys.path",)))
        return changes


def _is_runner_module(name: str) -> bool:
    top = name.split(".", 1)[0]
    return top in _RUNNER_PACKAGES or top.startswith("pytest_") or \
        top in sys.stdlib_module_names


class SysModules(StateKind[frozenset[str]]):
    name = SYS_MODULES

    def take(self, ctx: Context) -> frozenset[str]:
        return frozenset(sys.modules)

    def diff(self, before: frozenset[str], after: frozenset[str], ctx: Context
             ) -> list[Change]:
        groups: dict[str, list[str]] = {}
        for name in sorted(after - before):
            if _is_runner_module(name):
                continue
            parts = name.split(".")
            owner = next((".".join(parts[:i]) for i in range(1, len(parts))
                          if ".".join(parts[:i]) in groups), name)
            groups.setdefault(owner, []).append(name)
        changes = []
        for owner, names in groups.items():
            summary = "imported" if len(names) == 1 else \
                f"imported ({plural(len(names), 'module')})"
            changes.append(Change(SYS_MODULES, owner, "added", summary,
                                  (owner, owner.rsplit(".", 1)[-1]), {"module": owner}))
        for name in sorted(before - after):
            if not _is_runner_module(name):
                changes.append(Change(SYS_MODULES, name, "removed", "removed from sys.modules",
                                      (name, name.rsplit(".", 1)[-1]), {"module": name}))
        return changes


class SysArgv(StateKind[list[str]]):
    name = SYS_ARGV

    def take(self, ctx: Context) -> list[str]:
        return list(sys.argv)

    def diff(self, before: list[str], after: list[str], ctx: Context) -> list[Change]:
        if before == after:
            return []
        if after[:len(before)] == before:
            summary = f"appended {short(after[len(before):])}"
        elif before[:len(after)] == after:
            summary = f"shortened, dropped {short(before[len(after):])}"
        else:
            summary = f"{short(before)} -> {short(after)}"
        return [Change(SYS_ARGV, "", "changed", summary, ("argv", "parse_args", "argparse"))]


class RecursionLimit(ScalarKind[int]):
    name = RECURSION
    terms = ("getrecursionlimit", "RecursionError", "recursion")

    def take(self, ctx: Context) -> int:
        return sys.getrecursionlimit()


class SocketTimeout(ScalarKind[float | None]):
    name = SOCKET_TIMEOUT
    terms = ("timeout", "getdefaulttimeout", "create_connection", "urlopen", "socket")

    def take(self, ctx: Context) -> float | None:
        return socket.getdefaulttimeout()
