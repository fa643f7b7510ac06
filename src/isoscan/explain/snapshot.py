"""Process state, captured twice and diffed: what a test changed and did not restore.

Pure Python, no pytest: the snapshot plugin calls ``capture`` before the polluter and after it,
then ``diff``. Every section is cheap and bounded, because it runs inside the user's test
process: globals are compared by a structural fingerprint bounded in depth and size, file trees
by a bounded walk of (size, mtime), descriptors and child processes through ``/proc``.

Each difference is a ``Change``: a kind, the name of the thing that changed, a one-line summary,
and the terms (keys, names, file names) a victim's source would mention if it depends on it.
"""

from __future__ import annotations

import locale
import logging
import os
import reprlib
import signal
import socket
import sys
import threading
import time
import types
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# The kinds of state, in the order a report lists them when nothing else ranks them.
ENV = "env"
CWD = "cwd"
UMASK = "umask"
SYS_PATH = "sys.path"
SYS_MODULES = "sys.modules"
SYS_ARGV = "sys.argv"
RECURSION = "recursion limit"
SOCKET_TIMEOUT = "socket timeout"
TIMEZONE = "timezone"
LOCALE = "locale"
GLOBAL = "global"
FILE = "file"
FD = "fd"
SOCKET = "socket"
THREAD = "thread"
PROCESS = "process"
LOGGING = "logging"
WARNINGS = "warnings"
SIGNAL = "signal"
ASYNCIO = "asyncio"
USER = "user"

KINDS = (ENV, CWD, UMASK, SYS_PATH, SYS_MODULES, SYS_ARGV, RECURSION, SOCKET_TIMEOUT, TIMEZONE,
         LOCALE, GLOBAL, FILE, FD, SOCKET, THREAD, PROCESS, LOGGING, WARNINGS, SIGNAL, ASYNCIO,
         USER)

ITEM_CAP = 1000  # members fingerprinted one by one; a bigger container gets one flat hash
DEPTH = 3  # nesting levels fingerprinted structurally; deeper containers by identity
NODE_BUDGET = 20_000  # structural fingerprint nodes per global, then flat hashes
WALK_LIMIT = 20_000  # directory entries per file tree
WALK_DEPTH = 12
SKIP_DIRS = frozenset({".git", ".hg", ".svn", ".isoscan", "__pycache__", ".pytest_cache",
                       ".mypy_cache", ".ruff_cache", ".tox", ".nox", ".eggs", "node_modules",
                       ".venv", "venv"})
# Imported by pytest and its plugins on demand (e.g. to render a failure): not the test's doing.
_RUNNER_PACKAGES = ("_pytest", "pytest", "pluggy", "py", "iniconfig", "packaging", "isoscan",
                    "xdist", "execnet", "pytest_timeout", "pytest_randomly",
                    "_hypothesis_pytestplugin")
# Set on TestCase classes by unittest itself while it runs them.
_RUNNER_CLASS_ATTRS = frozenset({"tearDown_exceptions", "_classSetupFailed", "_class_cleanups"})
_RUNNER_ENV = frozenset({"PYTEST_CURRENT_TEST"})  # pytest's own per-test bookkeeping
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY", "PRIVATE",
                 "CREDENTIAL", "AUTH")

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = 4


@dataclass(frozen=True)
class Change:
    """One piece of state that differs after the polluter; ``terms`` are what a victim that
    depends on it would likely mention (a key, a name, a file name)."""

    kind: str
    name: str
    change: str  # added | removed | changed | rebound | mutated | left-open | closed
    summary: str
    terms: tuple[str, ...] = ()
    detail: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", tuple(dict.fromkeys(t for t in self.terms if t)))

    @property
    def line(self) -> str:
        return f"{self.kind} {self.name}: {self.summary}" if self.name else \
            f"{self.kind}: {self.summary}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "change": self.change,
                "summary": self.summary, "terms": list(self.terms), "detail": dict(self.detail)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return cls(str(data["kind"]), str(data["name"]), str(data["change"]),
                   str(data["summary"]), tuple(str(t) for t in data.get("terms", ())),
                   {str(k): str(v) for k, v in dict(data.get("detail", {})).items()})


@dataclass(frozen=True)
class Context:
    """Where to look: the rootdir, the private temp dir, and what the user hook returns."""

    rootdir: str
    tmpdir: str
    system_tmp: str = ""
    exclude: frozenset[str] = frozenset()
    user_state: Callable[[], dict[str, Any]] | None = None
    # The victim's words; entries of the shared system temp dir are only compared if named there.
    victim_strings: Callable[[], frozenset[str]] = lambda: frozenset()


@dataclass
class Snapshot:
    sections: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def short(value: object) -> str:
    try:
        return _short.repr(value)
    except Exception:  # a broken __repr__ must not break the snapshot
        return f"<{type(value).__name__} object>"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"


# -- process-wide scalars ---------------------------------------------------------------------
def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return "<deleted directory>"


def _timezone() -> tuple[tuple[str, str], int, int]:
    return (time.tzname[0], time.tzname[1]), time.timezone, time.daylight


_LOCALE_CATEGORIES = [name for name in ("LC_CTYPE", "LC_COLLATE", "LC_TIME", "LC_MONETARY",
                                        "LC_NUMERIC", "LC_MESSAGES") if hasattr(locale, name)]


def _locale() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in _LOCALE_CATEGORIES:
        try:
            out[name] = locale.setlocale(getattr(locale, name))  # no value: a query
        except locale.Error:
            out[name] = "?"
    return out


def _diff_scalar(kind: str, terms: tuple[str, ...], fmt: Callable[[Any], str] = short
                 ) -> Callable[[Any, Any, Context], list[Change]]:
    def diff(before: Any, after: Any, ctx: Context) -> list[Change]:
        if before == after:
            return []
        return [Change(kind, "", "changed", f"{fmt(before)} -> {fmt(after)}", terms,
                       {"before": fmt(before), "after": fmt(after)})]
    return diff


def _diff_env(before: dict[str, str], after: dict[str, str], ctx: Context) -> list[Change]:
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new or key in _RUNNER_ENV:
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        summary = f"{_env_value(key, old)} -> {_env_value(key, new)}"
        changes.append(Change(ENV, key, change, summary, (key,), {"key": key}))
    return changes


def _env_value(key: str, value: str | None) -> str:
    if value is None:
        return "unset"
    if any(word in key.upper() for word in _SECRET_WORDS):
        return "'***'"
    return short(value)


def _diff_sys_path(before: list[str], after: list[str], ctx: Context) -> list[Change]:
    added, removed = _multiset_diff(before, after)
    changes = [Change(SYS_PATH, entry, "added", f"added at index {after.index(entry)}",
                      (entry, os.path.basename(entry)), {"entry": entry}) for entry in added]
    changes += [Change(SYS_PATH, entry, "removed", "removed", (entry, os.path.basename(entry)),
                       {"entry": entry}) for entry in removed]
    if not changes and before != after:
        changes.append(Change(SYS_PATH, "", "changed", "reordered", ("sys.path",)))
    return changes


def _multiset_diff(before: list[Any], after: list[Any]) -> tuple[list[Any], list[Any]]:
    """Entries added and removed, duplicates counted, each list in its own order."""
    added, removed = Counter(after) - Counter(before), Counter(before) - Counter(after)
    return _take(after, added), _take(before, removed)


def _take(entries: list[Any], wanted: Counter[Any]) -> list[Any]:
    out = []
    for entry in entries:
        if wanted[entry] > 0:
            wanted[entry] -= 1
            out.append(entry)
    return out


def _is_runner_module(name: str) -> bool:
    top = name.split(".", 1)[0]
    return top in _RUNNER_PACKAGES or top.startswith("pytest_") or \
        top in sys.stdlib_module_names


def _diff_modules(before: frozenset[str], after: frozenset[str], ctx: Context) -> list[Change]:
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
        summary = "imported" if len(names) == 1 else f"imported ({plural(len(names), 'module')})"
        changes.append(Change(SYS_MODULES, owner, "added", summary,
                              (owner, owner.rsplit(".", 1)[-1]), {"module": owner}))
    for name in sorted(before - after):
        if not _is_runner_module(name):
            changes.append(Change(SYS_MODULES, name, "removed", "removed from sys.modules",
                                  (name, name.rsplit(".", 1)[-1]), {"module": name}))
    return changes


def _diff_argv(before: list[str], after: list[str], ctx: Context) -> list[Change]:
    if before == after:
        return []
    if after[:len(before)] == before:
        summary = f"appended {short(after[len(before):])}"
    elif before[:len(after)] == after:
        summary = f"shortened, dropped {short(before[len(after):])}"
    else:
        summary = f"{short(before)} -> {short(after)}"
    return [Change(SYS_ARGV, "", "changed", summary, ("argv", "parse_args", "argparse"))]


def _diff_timezone(before: tuple[tuple[str, str], int, int],
                   after: tuple[tuple[str, str], int, int], ctx: Context) -> list[Change]:
    if before == after:
        return []
    summary = f"{short(before[0])} -> {short(after[0])}"
    if before[0] == after[0]:
        summary = f"UTC offset {-before[1]}s -> {-after[1]}s"
    return [Change(TIMEZONE, "", "changed", summary,
                   ("TZ", "tzname", "tzset", "localtime", "strftime", "mktime", "ctime", "now",
                    "fromtimestamp", "astimezone"))]


def _diff_locale(before: dict[str, str], after: dict[str, str], ctx: Context) -> list[Change]:
    return [Change(LOCALE, name, "changed", f"{short(before[name])} -> {short(after[name])}",
                   (name, "locale", "setlocale", "format_string", "currency", "atof", "strxfrm",
                    "strcoll"), {"category": name, "before": before[name]})
            for name in before if before[name] != after.get(name)]


# -- module globals ---------------------------------------------------------------------------
ATOMS: tuple[type, ...] = (type(None), bool, int, float, complex, str, bytes)
_OPAQUE: tuple[type, ...] = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                             types.MethodType, type(len))


MAPPING, SEQUENCE, SET, CLASS, OBJECT, OTHER = "mapping", "sequence", "set", "class", "object", \
    "other"
# What a member of each shape is called in a report line.
_ROLE = {MAPPING: "key", SEQUENCE: "item", SET: "element", CLASS: "attribute",
         OBJECT: "attribute", OTHER: "member"}


class Probe(NamedTuple):
    """One module global at one moment: enough to tell rebound from mutated, and to say how."""

    ident: int
    fp: int
    type_name: str
    shape: str
    text: str
    size: int | None
    members: dict[str, tuple[int, str | None]] | None


def _atom_hash(value: object) -> int:
    if isinstance(value, float):
        return hash(("float", value.hex()))  # nan == nan, -0.0 != 0.0
    if isinstance(value, complex):
        return hash(("complex", value.real.hex(), value.imag.hex()))
    # hash(-1) == hash(-2) in CPython; the flag keeps them apart.
    return hash((type(value).__name__, value, value == -1))


def _flat_hash(values: Any) -> int:
    """One C-speed pass over a big container: by value where hashable, else by identity."""
    items = tuple(values)
    try:
        return hash(items)
    except TypeError:
        return hash(tuple(map(id, items)))


class Fingerprinter:
    """A structural hash, bounded in depth, in members per container and in total nodes, so a
    global holding a huge or deeply nested structure costs a few C-speed passes at most."""

    def __init__(self) -> None:
        self.budget = NODE_BUDGET

    def of(self, value: object, depth: int = DEPTH) -> int:
        kind = type(value)
        if kind in ATOMS:
            return _atom_hash(value)
        if isinstance(value, _OPAQUE) or (isinstance(value, type) and depth < DEPTH):
            return id(value)
        self.budget -= 1
        small = self.budget > 0 and depth > 0
        if isinstance(value, dict):
            if small and len(value) <= ITEM_CAP:
                return hash((kind, tuple((k, self.of(v, depth - 1)) for k, v in value.items())))
            return hash((kind, len(value), _flat_hash(value), _flat_hash(value.values())))
        if isinstance(value, (list, tuple, deque)):
            if small and len(value) <= ITEM_CAP:
                return hash((kind, tuple(self.of(v, depth - 1) for v in value)))
            return hash((kind, len(value), _flat_hash(value)))
        if isinstance(value, (set, frozenset)):
            return hash((kind, len(value), hash(frozenset(value))))
        attrs = _instance_dict(value)
        if attrs is not None and small and len(attrs) <= ITEM_CAP:
            return hash((id(value), tuple((k, self.of(v, depth - 1)) for k, v in attrs.items())))
        return id(value)


def _instance_dict(value: object) -> dict[str, Any] | None:
    if isinstance(value, (type, *_OPAQUE)):
        return None
    try:
        attrs = object.__getattribute__(value, "__dict__")
    except AttributeError:
        return None
    return attrs if isinstance(attrs, dict) else None


def _describe(value: object) -> str:
    if type(value) in ATOMS:
        return short(value)
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        kind = "class" if isinstance(value, type) else "function"
        return f"<{kind} {getattr(value, '__module__', '?')}.{value.__qualname__}>"
    if isinstance(value, types.ModuleType):
        return f"<module {value.__name__}>"
    if isinstance(value, (dict, list, tuple, set, frozenset, deque)):
        return f"<{type(value).__name__} of {plural(len(value), 'item')}>"
    return f"<{type(value).__qualname__} object>"


def _shape(value: object) -> str:
    if isinstance(value, dict):
        return MAPPING
    if isinstance(value, (list, tuple, deque)):
        return SEQUENCE
    if isinstance(value, (set, frozenset)):
        return SET
    if isinstance(value, type):
        return CLASS
    return OBJECT if _instance_dict(value) is not None else OTHER


def probe(value: object) -> Probe:
    """Fingerprint a global, keeping per-member fingerprints of small containers and objects
    so a diff can say which key, item or attribute changed."""
    fingerprinter = Fingerprinter()
    shape = _shape(value)
    size = len(value) if shape in (MAPPING, SEQUENCE, SET) else None  # type: ignore[arg-type]
    members = _members(value, shape, fingerprinter)
    if members is not None:
        fp = hash((shape, size, tuple((k, m[0]) for k, m in members.items())))
    else:
        fp = fingerprinter.of(value)
    return Probe(id(value), fp, type(value).__name__, shape, _describe(value), size, members)


def _members(value: Any, shape: str, fp: Fingerprinter
             ) -> dict[str, tuple[int, str | None]] | None:
    def entry(member: object, depth: int = DEPTH - 1) -> tuple[int, str | None]:
        return fp.of(member, depth), short(member) if type(member) in ATOMS else None

    if shape == MAPPING and len(value) <= ITEM_CAP:
        return {short(k): entry(v) for k, v in value.items()}
    if shape == SEQUENCE and len(value) <= ITEM_CAP:
        return {f"[{i}]": entry(v) for i, v in enumerate(value)}
    if shape == SET and len(value) <= ITEM_CAP:
        return {short(v): (0, None) for v in value}
    if shape == CLASS:
        # Class attributes by identity (depth 0): methods and nested classes are not walked.
        attrs = {k: v for k, v in vars(value).items()
                 if not _dunder(k) and k not in _RUNNER_CLASS_ATTRS}
        return {k: entry(v, 0) for k, v in attrs.items()} if len(attrs) <= ITEM_CAP else None
    if shape == OBJECT:
        attrs = _instance_dict(value) or {}
        return {k: entry(v) for k, v in attrs.items()} if len(attrs) <= ITEM_CAP else None
    return None


def _dunder(name: str) -> bool:
    return (name.startswith("__") and name.endswith("__")) or name.startswith("@")


def project_modules(ctx: Context) -> Iterator[types.ModuleType]:
    """Modules whose file lies under the rootdir, outside virtualenvs and site-packages."""
    root = ctx.rootdir.rstrip(os.sep) + os.sep
    # Only an interpreter prefix inside the project (its venv) is left out: code may well live
    # under a system prefix (/usr/src/app with Python in /usr).
    prefixes = tuple(p for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}
                     if os.path.abspath(p).startswith(root))
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or name == "isoscan" or name.startswith("isoscan."):
            continue
        path = os.path.abspath(path)
        if not path.startswith(root) or "site-packages" in path or "dist-packages" in path:
            continue
        if any(path.startswith(p.rstrip(os.sep) + os.sep) for p in prefixes if p):
            continue
        yield module


def _capture_globals(ctx: Context) -> dict[tuple[str, str], Probe]:
    out: dict[tuple[str, str], Probe] = {}
    modules = list(project_modules(ctx))
    own = {module.__name__ for module in modules}
    for module in modules:
        for attr, value in list(vars(module).items()):
            if not _dunder(attr) and not _imported(value, own):
                out[(module.__name__, attr)] = probe(value)
    return out


def _imported(value: object, project: set[str]) -> bool:
    """A library's class, function or module imported into a project module (``from pyparsing
    import *``), or one of pytest's own objects: its state is the library's (caches, counters),
    not something the project's tests leave behind."""
    if isinstance(value, types.ModuleType):
        return value.__name__ not in project
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return getattr(value, "__module__", None) not in project
    origin = type(value).__module__
    return origin.startswith(("_pytest.", "pytest.")) or origin in ("_pytest", "pytest")


def _is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last.startswith("test_") or last.endswith("_test") or last == "conftest"


def _diff_globals(before: dict[tuple[str, str], Probe], after: dict[tuple[str, str], Probe],
                  ctx: Context) -> list[Change]:
    modules = {m for m, _ in before}
    changes: list[Change] = []
    mutated: dict[int, list[tuple[str, str]]] = {}
    for key, old in before.items():
        new = after.get(key)
        if new is None:
            changes.append(_global_change(key, "removed", f"deleted (was {old.text})"))
        elif old.ident != new.ident and old.fp != new.fp:
            changes.append(_global_change(key, "rebound", f"rebound {old.text} -> {new.text}",
                                          {"type": new.type_name}))
        elif old.ident == new.ident and old.fp != new.fp:
            mutated.setdefault(old.ident, []).append(key)
    for key, new in after.items():
        if key not in before and key[0] in modules:
            changes.append(_global_change(key, "added", f"added = {new.text}"))
    for keys in mutated.values():
        # One object imported under several names: name it where it is not a test module.
        key = min(keys, key=lambda k: (_is_test_module(k[0]), k))
        changes.append(_mutation(key, before[key], after[key]))
    return changes


def _global_change(key: tuple[str, str], change: str, summary: str,
                   detail: dict[str, str] | None = None, terms: tuple[str, ...] = ()
                   ) -> Change:
    module, attr = key
    return Change(GLOBAL, f"{module}.{attr}", change, summary,
                  (attr, f"{module}.{attr}", f"{module.rsplit('.', 1)[-1]}.{attr}", *terms),
                  {"module": module, "attr": attr, **(detail or {})})


def _mutation(key: tuple[str, str], old: Probe, new: Probe) -> Change:
    role = _ROLE[old.shape]
    parts: list[str] = []
    detail = {"type": old.type_name, "shape": old.shape, "role": role}
    if old.size is not None and old.size != new.size and (old.shape == SEQUENCE or
                                                          old.members is None):
        parts.append(f"length {old.size} -> {new.size}")
    terms: tuple[str, ...] = ()
    if old.members is not None and new.members is not None:
        added = [k for k in new.members if k not in old.members]
        removed = [k for k in old.members if k not in new.members]
        changed = [k for k in old.members if k in new.members
                   and old.members[k][0] != new.members[k][0]]
        if old.shape == SEQUENCE and old.size != new.size:
            added = removed = []  # the length says it; items that shifted would be noise
        parts += [f"{role} {k} added" for k in added]
        parts += [f"{role} {k} removed" for k in removed]
        for k in changed:
            was, now = old.members[k][1], new.members[k][1]
            parts.append(f"{role} {k} changed {was} -> {now}" if was and now
                         else f"{role} {k} changed")
        for member, how in ((added, "added"), (changed, "changed"), (removed, "removed")):
            if member:
                detail.update(member=member[0], member_change=how)
                break
        if old.shape != SEQUENCE:
            terms = tuple(k.strip("'\"") for k in (*added, *changed, *removed))[:20]
    if not parts or (old.members is None and old.size == new.size):
        parts.append("contents changed" + (f" (length {new.size})" if new.size is not None
                                           else ""))
    shown = ", ".join(parts[:3]) + (f", and {len(parts) - 3} more" if len(parts) > 3 else "")
    what = {CLASS: "class", OBJECT: f"{old.type_name} object"}.get(old.shape, old.type_name)
    return _global_change(key, "mutated", f"{what} mutated: {shown}", detail, terms)


# -- files ------------------------------------------------------------------------------------
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


def _capture_files(ctx: Context) -> dict[str, Tree]:
    exclude = ctx.exclude | {ctx.tmpdir}
    trees = {"": walk(ctx.rootdir, exclude=exclude), "$TMPDIR/": walk(ctx.tmpdir)}
    if ctx.system_tmp and os.path.isdir(ctx.system_tmp):
        # The shared temp dir is busy with other processes: top level only, names the victim
        # mentions only.
        named = frozenset(n for n in os.listdir(ctx.system_tmp)
                          if any(n in s for s in ctx.victim_strings()))
        trees[ctx.system_tmp.rstrip("/") + "/"] = walk(ctx.system_tmp, only=named, depth=1,
                                                       exclude=exclude)
    return trees


def _diff_files(before: dict[str, Tree], after: dict[str, Tree], ctx: Context) -> list[Change]:
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


# -- descriptors, threads, child processes ----------------------------------------------------
def _capture_fds(ctx: Context) -> dict[int, str] | None:
    base = "/proc/self/fd"
    if not os.path.isdir(base):
        return None
    out = {}
    for name in os.listdir(base):
        try:
            out[int(name)] = os.readlink(f"{base}/{name}")
        except OSError:
            continue  # the descriptor os.listdir itself used, already closed
    return out


def _diff_fds(before: dict[int, str] | None, after: dict[int, str] | None, ctx: Context
              ) -> list[Change]:
    if before is None or after is None:
        return []
    changes = []
    sockets: dict[str, str] | None = None
    for fd in sorted(after):
        target = after[fd]
        if before.get(fd) == target:
            continue
        if target.startswith("socket:["):
            if sockets is None:
                sockets = _socket_table()
            inode = target[len("socket:["):-1]
            name = sockets.get(inode, target)
            changes.append(Change(SOCKET, name, "left-open", f"left open (fd {fd})",
                                  (*name.split(), "socket"), {"fd": str(fd)}))
        else:
            name = _display_path(target, ctx)
            changes.append(Change(FD, name, "left-open", f"left open (fd {fd})",
                                  (os.path.basename(target), name), {"fd": str(fd)}))
    for fd in sorted(set(before) - set(after)):
        name = _display_path(before[fd], ctx)
        changes.append(Change(FD, name, "closed", f"closed (fd {fd})", (name,), {"fd": str(fd)}))
    return changes


def _display_path(target: str, ctx: Context) -> str:
    for base, prefix in ((ctx.tmpdir, "$TMPDIR/"), (ctx.rootdir, "")):
        if target.startswith(base.rstrip("/") + "/"):
            return prefix + target[len(base.rstrip("/")) + 1:]
    return target


def _socket_table() -> dict[str, str]:
    """inode -> 'tcp 127.0.0.1:8080 LISTEN' from /proc/self/net, read only when needed."""
    out: dict[str, str] = {}
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/self/net/{proto}", encoding="ascii") as stream:
                lines = stream.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) < 10:
                continue
            state = {"0A": " LISTEN", "01": " ESTABLISHED"}.get(cols[3], "") \
                if proto.startswith("tcp") else ""
            out[cols[9]] = f"{proto.rstrip('6')} {_address(cols[1])}{state}"
    try:
        with open("/proc/self/net/unix", encoding="utf-8", errors="replace") as stream:
            for line in stream.read().splitlines()[1:]:
                cols = line.split()
                if len(cols) >= 7:
                    out[cols[6]] = f"unix {cols[7]}" if len(cols) > 7 else "unix socket"
    except OSError:
        pass
    return out


def _address(hexaddr: str) -> str:
    host, _, port = hexaddr.partition(":")
    raw = bytes.fromhex(host)
    # /proc prints each 32-bit word in host (little-endian) order.
    ordered = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    if len(ordered) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, ordered)}:{int(port, 16)}"
    return f"[{socket.inet_ntop(socket.AF_INET6, ordered)}]:{int(port, 16)}"


def _capture_threads(ctx: Context) -> dict[tuple[int | None, int], tuple[str, bool, str]]:
    return {(t.ident, id(t)): (t.name, t.daemon, _thread_target(t))
            for t in threading.enumerate()}


def _thread_target(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None)
    if target is not None:
        return str(getattr(target, "__qualname__", short(target)))
    return f"{type(thread).__qualname__}.run"


def _diff_threads(before: dict[tuple[int | None, int], tuple[str, bool, str]],
                  after: dict[tuple[int | None, int], tuple[str, bool, str]], ctx: Context
                  ) -> list[Change]:
    changes = []
    for key, (name, daemon, target) in after.items():
        if key not in before:
            kind = "daemon" if daemon else "non-daemon"
            changes.append(Change(THREAD, name, "left-open",
                                  f"still running ({kind}, target {target})",
                                  (name, target.rsplit(".", 1)[-1], "Thread"),
                                  {"target": target}))
    return changes


def _capture_children(ctx: Context) -> dict[int, tuple[str, str]] | None:
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


def _diff_children(before: dict[int, tuple[str, str]] | None,
                   after: dict[int, tuple[str, str]] | None, ctx: Context) -> list[Change]:
    if before is None or after is None:
        return []
    changes = []
    for pid, (state, cmdline) in sorted(after.items()):
        if pid in before:
            continue
        summary = "exited, never waited for (zombie)" if state == "Z" else \
            f"still running: {_clip(cmdline, 160) if cmdline else '?'}"
        words = cmdline.split()
        changes.append(Change(PROCESS, f"pid {pid}", "left-open", summary,
                              ("Popen", "subprocess", *(os.path.basename(w) for w in words[:1])),
                              {"pid": str(pid), "cmdline": cmdline}))
    return changes


# -- logging, warnings, signals, asyncio ------------------------------------------------------
LoggerState = tuple[int, tuple[tuple[int, str], ...], bool, bool]


def _capture_logging(ctx: Context) -> tuple[dict[str, LoggerState], int]:
    loggers: dict[str, logging.Logger] = {"root": logging.getLogger()}
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            loggers[name] = logger
    state = {name: (lg.level, tuple((id(h), _handler(h)) for h in lg.handlers), lg.propagate,
                    lg.disabled) for name, lg in loggers.items()}
    return state, logging.root.manager.disable


def _handler(handler: logging.Handler) -> str:
    target = getattr(handler, "baseFilename", None) or \
        getattr(getattr(handler, "stream", None), "name", None)
    return f"{type(handler).__name__}({target})" if target else type(handler).__name__


def _diff_logging(before: tuple[dict[str, LoggerState], int],
                  after: tuple[dict[str, LoggerState], int], ctx: Context) -> list[Change]:
    changes = []
    if before[1] != after[1]:
        changes.append(Change(LOGGING, "logging.disable", "changed",
                              f"{_level(before[1])} -> {_level(after[1])}",
                              ("logging", "disable", "caplog")))
    for name, (level, handlers, propagate, disabled) in after[0].items():
        old = before[0].get(name, (logging.NOTSET, (), True, False))
        terms = (name, name.rsplit(".", 1)[-1], "getLogger", "caplog")
        detail = {"logger": name}
        if old[0] != level:
            changes.append(Change(LOGGING, name, "changed",
                                  f"level {_level(old[0])} -> {_level(level)}", terms,
                                  {**detail, "what": "level"}))
        for ident, desc in handlers:
            if ident not in {i for i, _ in old[1]}:
                changes.append(Change(LOGGING, name, "added", f"handler added: {desc}", terms,
                                      {**detail, "what": "handler", "handler": desc}))
        for ident, desc in old[1]:
            if ident not in {i for i, _ in handlers}:
                changes.append(Change(LOGGING, name, "removed", f"handler removed: {desc}",
                                      terms, {**detail, "what": "handler", "handler": desc}))
        if old[2] != propagate:
            changes.append(Change(LOGGING, name, "changed", f"propagate {old[2]} -> {propagate}",
                                  terms, {**detail, "what": "propagate"}))
        if old[3] != disabled:
            changes.append(Change(LOGGING, name, "changed",
                                  "disabled" if disabled else "re-enabled", terms,
                                  {**detail, "what": "disabled"}))
    return changes


def _level(level: int) -> str:
    return logging.getLevelName(level) if level else "NOTSET"


WarningFilter = tuple[str, str | None, str, str | None, int]


def _capture_warnings(ctx: Context) -> list[WarningFilter]:
    out: list[WarningFilter] = []
    for action, message, category, module, lineno in warnings.filters:
        pattern = getattr(message, "pattern", message)
        where = getattr(module, "pattern", module)
        out.append((action, pattern if isinstance(pattern, str) else None,
                    getattr(category, "__name__", str(category)),
                    where if isinstance(where, str) else None, lineno))
    return out


def _diff_warnings(before: list[WarningFilter], after: list[WarningFilter], ctx: Context
                   ) -> list[Change]:
    added, removed = _multiset_diff(before, after)
    return [_warning_change(e, "added") for e in added] + \
        [_warning_change(e, "removed") for e in removed]


def _warning_change(entry: WarningFilter, change: str) -> Change:
    action, message, category, module, lineno = entry
    text = f"{action!r}, category={category}"
    if message:
        text += f", message={message!r}"
    if module:
        text += f", module={module!r}"
    if lineno:
        text += f", lineno={lineno}"
    return Change(WARNINGS, "", change, f"filter {change} ({text})",
                  (category, "warns", "filterwarnings", "simplefilter"),
                  {"action": action, "category": category})


def _capture_signals(ctx: Context) -> dict[str, str]:
    out = {}
    for number in sorted(signal.valid_signals()):
        try:
            handler = signal.getsignal(number)
            name = signal.Signals(number).name
        except (ValueError, OSError):
            continue
        out[name] = _signal_handler(handler)
    return out


def _signal_handler(handler: object) -> str:
    if handler is None:
        return "None (set outside Python)"
    if isinstance(handler, signal.Handlers):
        return handler.name
    if callable(handler):
        # By name, not identity: a timeout plugin re-installs an equal closure every test.
        module = getattr(handler, "__module__", None) or "?"
        return f"{module}.{getattr(handler, '__qualname__', type(handler).__qualname__)}"
    return short(handler)


def _diff_signals(before: dict[str, str], after: dict[str, str], ctx: Context) -> list[Change]:
    return [Change(SIGNAL, name, "changed", f"{before[name]} -> {after[name]}",
                   (name, "signal", "getsignal"), {"signal": name, "before": before[name]})
            for name in before if after.get(name, before[name]) != before[name]]


def _capture_asyncio(ctx: Context) -> tuple[str, str]:
    asyncio = sys.modules.get("asyncio")
    events = getattr(asyncio, "events", None) if asyncio is not None else None
    # Read the private slot, not get_event_loop_policy(), which would create a policy itself.
    policy = getattr(events, "_event_loop_policy", None)
    if policy is None:
        return "None", "none"
    loop = getattr(getattr(policy, "_local", None), "_loop", None)
    if loop is None:
        loop_text = "none"
    else:
        closed = loop.is_closed() if hasattr(loop, "is_closed") else False
        loop_text = f"{type(loop).__name__} ({'closed' if closed else 'open'})"
    return f"{type(policy).__module__}.{type(policy).__qualname__}", loop_text


def _diff_asyncio(before: tuple[str, str], after: tuple[str, str], ctx: Context
                  ) -> list[Change]:
    terms = ("asyncio", "get_event_loop", "new_event_loop", "run", "get_event_loop_policy")
    changes = []
    if before[0] != after[0] and not (before[0] == "None" and
                                      after[0].endswith("DefaultEventLoopPolicy")):
        changes.append(Change(ASYNCIO, "event loop policy", "changed",
                              f"{before[0]} -> {after[0]}", terms, {"what": "policy"}))
    if before[1] != after[1] and after[1] != "none":
        changes.append(Change(ASYNCIO, "current event loop", "changed",
                              f"{before[1]} -> {after[1]}", terms, {"what": "loop"}))
    return changes


# -- the user's hook ---------------------------------------------------------------------------
def _capture_user(ctx: Context) -> dict[str, Any]:
    return ctx.user_state() if ctx.user_state is not None else {}


def _diff_user(before: dict[str, Any], after: dict[str, Any], ctx: Context) -> list[Change]:
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, _ABSENT), after.get(key, _ABSENT)
        if old == new:
            continue
        change = "added" if old is _ABSENT else "removed" if new is _ABSENT else "changed"
        parts = [p for p in key.replace(":", ".").replace("/", ".").split(".") if p]
        changes.append(Change(USER, key, change, f"{_user_text(old)} -> {_user_text(new)}",
                              (key, *parts), {"key": key}))
    return changes


_ABSENT = object()


def _user_text(value: object) -> str:
    return "absent" if value is _ABSENT else short(value)


# -- the sections, in order --------------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    name: str
    capture: Callable[[Context], Any]
    diff: Callable[[Any, Any, Context], list[Change]]


SECTIONS = (
    Section(ENV, lambda ctx: dict(os.environ), _diff_env),
    Section(CWD, lambda ctx: _cwd(), _diff_scalar(CWD, ("chdir", "getcwd", "cwd"), repr)),
    Section(UMASK, lambda ctx: _umask(),
            _diff_scalar(UMASK, ("umask", "chmod", "st_mode"), lambda m: f"0o{m:03o}")),
    Section(SYS_PATH, lambda ctx: list(sys.path), _diff_sys_path),
    Section(SYS_MODULES, lambda ctx: frozenset(sys.modules), _diff_modules),
    Section(SYS_ARGV, lambda ctx: list(sys.argv), _diff_argv),
    Section(RECURSION, lambda ctx: sys.getrecursionlimit(),
            _diff_scalar(RECURSION, ("getrecursionlimit", "RecursionError", "recursion"))),
    Section(SOCKET_TIMEOUT, lambda ctx: socket.getdefaulttimeout(),
            _diff_scalar(SOCKET_TIMEOUT, ("timeout", "getdefaulttimeout", "create_connection",
                                          "urlopen", "socket"))),
    Section(TIMEZONE, lambda ctx: _timezone(), _diff_timezone),
    Section(LOCALE, lambda ctx: _locale(), _diff_locale),
    Section(GLOBAL, _capture_globals, _diff_globals),
    Section(FILE, _capture_files, _diff_files),
    Section(FD, _capture_fds, _diff_fds),
    Section(THREAD, _capture_threads, _diff_threads),
    Section(PROCESS, _capture_children, _diff_children),
    Section(LOGGING, _capture_logging, _diff_logging),
    Section(WARNINGS, _capture_warnings, _diff_warnings),
    Section(SIGNAL, _capture_signals, _diff_signals),
    Section(ASYNCIO, _capture_asyncio, _diff_asyncio),
    Section(USER, _capture_user, _diff_user),
)


def capture(ctx: Context) -> Snapshot:
    """Every section, each timed; a section that raises is noted and left out of the diff.
    File descriptors go before the user hook, whose own connections must not count."""
    snap = Snapshot()
    for section in SECTIONS:
        started = time.perf_counter()
        try:
            snap.sections[section.name] = section.capture(ctx)
        except Exception as exc:
            snap.notes.append(f"{section.name}: could not be read ({type(exc).__name__}: {exc})")
        snap.seconds[section.name] = time.perf_counter() - started
    return snap


def diff(before: Snapshot, after: Snapshot, ctx: Context) -> tuple[list[Change], dict[str, float]]:
    changes: list[Change] = []
    seconds: dict[str, float] = {}
    for section in SECTIONS:
        if section.name not in before.sections or section.name not in after.sections:
            continue
        started = time.perf_counter()
        changes += section.diff(before.sections[section.name], after.sections[section.name], ctx)
        seconds[section.name] = time.perf_counter() - started
    return changes, seconds
