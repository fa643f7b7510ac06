"""Files under the rootdir and the temp dirs: a bounded walk of (size, mtime) per entry."""

from __future__ import annotations

import os
from typing import NamedTuple

from isoscan.explain.state.base import Change, Context, StateKind, plural

FILE = "file"

WALK_LIMIT = 20_000  # directory entries per file tree
WALK_DEPTH = 12
SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".isoscan", "__pycache__", ".pytest_cache",
                       ".mypy_cache", ".ruff_cache", ".tox", ".nox", ".eggs", "node_modules",
                       ".venv", "venv"})


class Tree(NamedTuple):
    entries: dict[str, tuple[bool, int, int]]  # relative path -> (is_dir, size, mtime_ns)
    complete: frozenset[str]  # directories listed in full
    truncated: bool


def walk(root: str, *, exclude: frozenset[str] = frozenset(), limit: int = WALK_LIMIT,
         depth: int = WALK_DEPTH, only: frozenset[str] | None = None) -> Tree:
    """A bounded, sorted walk; ``only`` restricts the top level to those names."""
    entries: dict[str, tuple[bool, int, int]] = {}
    complete: set[str] = set()
    truncated = False
    stack = [("", root, 0)]
    while stack:
        rel, path, level = stack.pop()
        try:
            with os.scandir(path) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        if len(entries) + len(items) > limit:
            truncated = True
            continue
        complete.add(rel)
        for item in items:
            if item.name in SKIP_DIRS or item.path in exclude or item.name.startswith("pytest-of-"):
                continue
            if only is not None and not rel and item.name not in only:
                continue
            key = f"{rel}/{item.name}" if rel else item.name
            try:
                is_dir = item.is_dir(follow_symlinks=False)
                st = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if is_dir and os.path.exists(os.path.join(item.path, "pyvenv.cfg")):
                continue
            entries[key] = (True, 0, 0) if is_dir else (False, st.st_size, st.st_mtime_ns)
            if is_dir and level + 1 < depth and only is None:
                stack.append((key, item.path, level + 1))
    return Tree(entries, frozenset(complete), truncated)


class Files(StateKind[dict[str, Tree]]):
    name = FILE

    def take(self, ctx: Context) -> dict[str, Tree]:
        exclude = ctx.exclude | {ctx.tmpdir}
        trees = {"": walk(ctx.rootdir, exclude=exclude), "$TMPDIR/": walk(ctx.tmpdir)}
        if ctx.system_tmp and os.path.isdir(ctx.system_tmp):
            # The shared temp dir is busy with other processes: top level only, names the
            # victim mentions only.
            named = frozenset(n for n in os.listdir(ctx.system_tmp)
                              if any(n in s for s in ctx.victim_strings()))
            trees[ctx.system_tmp.rstrip("/") + "/"] = walk(ctx.system_tmp, only=named, depth=1,
                                                           exclude=exclude)
        return trees

    def diff(self, before: dict[str, Tree], after: dict[str, Tree], ctx: Context
             ) -> list[Change]:
        changes = []
        for prefix, old in before.items():
            new = after.get(prefix)
            if new is not None:
                changes += _diff_tree(prefix, old, new)
        return changes


def _diff_tree(prefix: str, old: Tree, new: Tree) -> list[Change]:
    listed = old.complete & new.complete
    changes = []
    removed = sorted(k for k in old.entries.keys() - new.entries.keys()
                     if _parent(k) in listed)
    created = sorted(k for k in new.entries.keys() - old.entries.keys()
                     if _parent(k) in listed)
    for key in _tops(created):
        inside = sum(1 for k in new.entries if k.startswith(key + "/"))
        is_dir, size, _ = new.entries[key]
        summary = f"directory created ({plural(inside, 'entry', 'entries')})" if is_dir \
            else f"created ({plural(size, 'byte')})"
        changes.append(_file_change(prefix, key, "added", summary))
    for key in _tops(removed):
        summary = "directory removed" if old.entries[key][0] else "removed"
        changes.append(_file_change(prefix, key, "removed", summary))
    for key, (is_dir, size, mtime) in old.entries.items():
        now = new.entries.get(key)
        if now is None or is_dir or now == (is_dir, size, mtime):
            continue
        summary = "modified" + (f" ({size} -> {plural(now[1], 'byte')})" if size != now[1] else "")
        changes.append(_file_change(prefix, key, "changed", summary))
    return changes


def _parent(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/" in key else ""


def _tops(keys: list[str]) -> list[str]:
    chosen: set[str] = set()
    out = []
    for key in keys:  # sorted: a directory comes before what is inside it
        if not any(key.startswith(c + "/") for c in chosen):
            chosen.add(key)
            out.append(key)
    return out


def _file_change(prefix: str, key: str, change: str, summary: str) -> Change:
    name = prefix + key
    return Change(FILE, name, change, summary, (os.path.basename(key), key, name),
                  {"path": name, "temp": "yes" if prefix else "no"})

