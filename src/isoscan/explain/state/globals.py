"""Module globals of the project: each fingerprinted structurally, bounded in depth, in members per
container and in total nodes, so a diff tells a rebound name from a mutated object and says which
key, item or attribute changed."""

from __future__ import annotations

import os
import sys
import types
from collections import deque
from collections.abc import Iterator
from typing import Any, NamedTuple

from isoscan.explain.state.base import Change, Context, StateKind, plural, short

GLOBAL = "global"

ITEM_CAP = 1000  # members fingerprinted one by one; a bigger container gets one flat hash
DEPTH = 3  # nesting levels fingerprinted structurally; deeper containers by identity
NODE_BUDGET = 20_000  # structural fingerprint nodes per global, then flat hashes
# Set on TestCase classes by unittest itself while it runs them.
_RUNNER_CLASS_ATTRS = frozenset({"tearDown_exceptions", "_classSetupFailed", "_class_cleanups"})

ATOMS: tuple[type, ...] = (type(None), bool, int, float, complex, str, bytes)
_OPAQUE: tuple[type, ...] = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                             types.MethodType, type(len))


MAPPING, SEQUENCE, SET, CLASS, OBJECT, OTHER = "mapping", "sequence", "set", "class", "object", \
    "other"
# What a member of each shape is called in a report line.
_ROLE = {MAPPING: "key", SEQUENCE: "item", SET: "element", CLASS: "attribute",
         OBJECT: "attribute", OTHER: "member"}


class GlobalValue(NamedTuple):
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


def read_global(value: object) -> GlobalValue:
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
    return GlobalValue(id(value), fp, type(value).__name__, shape, _describe(value), size, members)


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


def in_project(path: str, rootdir: str) -> bool:
    """Whether a module's file is the project's: under the rootdir, outside virtualenvs and
    site-packages."""
    root = rootdir.rstrip(os.sep) + os.sep
    path = os.path.abspath(path)
    if not path.startswith(root) or "site-packages" in path or "dist-packages" in path:
        return False
    # Only an interpreter prefix inside the project (its venv) is left out: code may well live
    # under a system prefix (/usr/src/app with Python in /usr).
    prefixes = (p.rstrip(os.sep) + os.sep for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}
                if p and os.path.abspath(p).startswith(root))
    return not any(path.startswith(p) for p in prefixes)


def project_modules(ctx: Context) -> Iterator[types.ModuleType]:
    """Modules whose file lies under the rootdir, outside virtualenvs and site-packages; then
    the modules ``ctx.modules`` names (a library whose configuration a victim reads)."""
    found: set[str] = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or name == "isoscan" or name.startswith("isoscan."):
            continue
        if in_project(path, ctx.rootdir):
            found.add(name)
            yield module
    for name in sorted(ctx.modules - found):
        watched = sys.modules.get(name)
        if isinstance(watched, types.ModuleType):
            yield watched


GlobalsState = dict[tuple[str, str], GlobalValue]


class Globals(StateKind[GlobalsState]):
    name = GLOBAL

    def take(self, ctx: Context) -> GlobalsState:
        out: GlobalsState = {}
        modules = list(project_modules(ctx))
        own = {module.__name__ for module in modules}
        for module in modules:
            for attr, value in list(vars(module).items()):
                if not _dunder(attr) and not _imported(value, own):
                    out[(module.__name__, attr)] = read_global(value)
        return out

    def diff(self, before: GlobalsState, after: GlobalsState, ctx: Context) -> list[Change]:
        modules = {m for m, _ in before}
        changes: list[Change] = []
        mutated: dict[int, list[tuple[str, str]]] = {}
        for key, old in before.items():
            new = after.get(key)
            if new is None:
                changes.append(_global_change(key, "removed", f"deleted (was {old.text})"))
            elif old.ident != new.ident and old.fp != new.fp:
                changes.append(_global_change(key, "rebound",
                                              f"rebound {old.text} -> {new.text}",
                                              {"type": new.type_name}))
            elif old.ident == new.ident and old.fp != new.fp:
                mutated.setdefault(old.ident, []).append(key)
        for key, new in after.items():
            if key not in before and key[0] in modules:
                changes.append(_global_change(key, "added", f"added = {new.text}",
                                              {"type": new.type_name}))
        for keys in mutated.values():
            # One object imported under several names: name it where it is not a test module.
            key = min(keys, key=lambda k: (_is_test_module(k[0]), k))
            changes.append(_mutation(key, before[key], after[key]))
        return changes


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


def _global_change(key: tuple[str, str], change: str, summary: str,
                   detail: dict[str, str] | None = None, terms: tuple[str, ...] = ()
                   ) -> Change:
    module, attr = key
    return Change(GLOBAL, f"{module}.{attr}", change, summary,
                  (attr, f"{module}.{attr}", f"{module.rsplit('.', 1)[-1]}.{attr}", *terms),
                  {"module": module, "attr": attr, **(detail or {})})


def _mutation(key: tuple[str, str], old: GlobalValue, new: GlobalValue) -> Change:
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

