"""isoscan's import tracer: which module's import changes process state, and how.

Loaded with ``-p isoscan.import_time.trace`` in a ``--collect-only`` run; inert unless
``--isoscan-import-trace SPEC`` is given. SPEC is a JSON file::

    {"output": FILE, "victim": NODEID, "tmpdir": DIR, "exclude": [DIR…],
     "watch": [MODULE…], "known": [FILE…] or null,
     "pinpoint": {FILE: [{"kind", "name", "owner", "attr"}…]} or absent}

Every project module (and every module ``watch`` names) is timed as it executes, however pytest
imports it (conftest, test module, a helper they import): the module's loader is wrapped on its
way out of ``sys.meta_path``. ``known`` lists the project files the victim's own module imports
when it is collected alone; what any other project module's code changes, between its start and
its end less what the modules it imports change, is blamed on it: process state is snapshotted
(``isoscan explain``'s state kinds) at each of those boundaries. With ``known`` null the run only
lists the project files it imported (the victim's own, to compare with).

A module's own globals, defined while it runs for the first time, are never a change: changes
to the globals of a module still executing (on the import stack) or first executed within the
segment are dropped, and so is a name bound to a module (what an import statement does). The
modules first imported while a blamed module ran are listed, so a change to one of them ranks
below a change to a module imported before. ``pinpoint`` (a third run) names, per blamed file,
the state to watch line by line while it executes (``pinpoint.py``).

The output also holds the diff of the whole run (its start to the end of collection), for what
happens outside any module's code (a conftest hook, pytest's own ``sys.path`` insert), and the
victim's vocabulary, which ranks the changes as ``isoscan explain`` ranks them.
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any, NamedTuple

import pytest

SCHEMA = "isoscan.import-trace/1"
PLUGIN_NAME = "isoscan-import-tracer"
# Snapshots taken at module boundaries before only the outermost blamed module is cut: a helper
# that imports a whole application must not take minutes.
MAX_CUTS = 100


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("isoscan", "isoscan order recording and replay")
    group.addoption(
        "--isoscan-import-trace",
        metavar="SPEC",
        default=None,
        help="snapshot process state around every project module's import and write which "
             "module changed what (used by isoscan's import-time check)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Before the first conftest is imported: conftests change state at import time too."""
    spec_path = getattr(early_config.known_args_namespace, "isoscan_import_trace", None)
    if spec_path:
        spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
        tracer = Tracer(str(early_config.rootpath), spec)
        early_config.pluginmanager.register(tracer, PLUGIN_NAME)
        tracer.start()


class Followed(NamedTuple):
    """A module whose execution the tracer times."""

    path: str  # rootdir-relative file of a project module, or a watched library's name
    project: bool


@dataclass
class _Frame:
    path: str  # rootdir-relative file, or the module name of a watched library
    blamed: bool  # its own code's changes are blamed on it
    name: str = ""  # its name in sys.modules


class Tracer:
    """The timeline of module executions, cut into segments at each module's start and end;
    each segment's changes belong to the module executing innermost during it."""

    def __init__(self, rootdir: str, spec: dict[str, Any]) -> None:
        # Imported here: a plain run that loads this plugin pays nothing for them.
        from isoscan.explain.state import snapshot
        from isoscan.explain.state.globals import in_project

        self.snapshot = snapshot
        self.in_project = in_project
        self.rootdir = rootdir
        self.spec = spec
        self.output = Path(spec["output"])
        known = spec.get("known")
        self.known: frozenset[str] | None = frozenset(known) if known is not None else None
        self.watch = frozenset(spec.get("watch", []))
        os.makedirs(spec["tmpdir"], exist_ok=True)
        self.context = snapshot.Context(
            rootdir=rootdir, tmpdir=spec["tmpdir"], modules=self.watch,
            exclude=frozenset(str(Path(p).resolve()) for p in spec.get("exclude", [])))
        self.finder = _Finder(self)
        self.imported: list[str] = []
        self.stack: list[_Frame] = []
        self.last: Any = None  # the snapshot at the latest boundary, while a blamed frame runs
        self.cuts = 0
        self.segments: list[dict[str, Any]] = []
        self.collect_errors = 0
        self.first: Any = None
        self.done = False
        # Modules that started executing since the last cut, and all first executed while a
        # blamed module ran: their own definitions are not changes.
        self.entered: set[str] = set()
        self.first_imported: list[str] = []
        self.pinpoint: dict[str, list[dict[str, str]]] = dict(spec.get("pinpoint") or {})
        self.pinpointers: list[Any] = []
        self.pinpointed: dict[str, dict[str, Any]] = {}

    # -- the timeline ------------------------------------------------------------------------
    def start(self) -> None:
        self.first = self.snapshot.capture(self.context)
        sys.meta_path.insert(0, self.finder)

    def stop(self) -> None:
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)

    def followed(self, name: str, origin: str | None) -> Followed | None:
        """How the timeline names a module about to run: its rootdir-relative file for a
        project module, its name for a watched library, None for anything else."""
        if origin and os.path.isabs(origin) and self.in_project(origin, self.rootdir):
            return Followed(os.path.relpath(origin, self.rootdir).replace(os.sep, "/"), True)
        return Followed(name, False) if name in self.watch else None

    def enter(self, path: str, project: bool, name: str = "") -> None:
        if project:
            self.imported.append(path)
        blamed = project and self.known is not None and path not in self.known
        if self._tracking():
            self._cut()
            self.first_imported.append(name)
        self.entered.add(name)
        self.stack.append(_Frame(path, blamed, name))
        if self.last is None and self._tracking():
            self.last = self.snapshot.capture(self.context)
        self._start_pinpoint(path)

    def exit(self) -> None:
        self._stop_pinpoint()
        if self._tracking():
            self._cut(final=sum(f.blamed for f in self.stack) == 1 and self.stack[-1].blamed)
        self.stack.pop()
        if not self._tracking():
            self.last = None

    def _start_pinpoint(self, path: str) -> None:
        entries = self.pinpoint.pop(path, None)
        if entries is None:
            self.pinpointers.append(None)
            return
        from isoscan.import_time.pinpoint import Pinpointer, watch_of

        watches = [w for w in (watch_of(e) for e in entries) if w is not None]
        pinpointer = Pinpointer(os.path.join(self.rootdir, path), watches, self.rootdir)
        self.pinpointers.append((path, pinpointer))
        pinpointer.start()

    def _stop_pinpoint(self) -> None:
        current = self.pinpointers.pop() if self.pinpointers else None
        if current is None:
            return
        path, pinpointer = current
        pinpointer.stop()
        for key, stack in pinpointer.found.items():
            self.pinpointed.setdefault(path, {})[key] = [list(frame) for frame in stack]

    def _tracking(self) -> bool:
        return any(frame.blamed for frame in self.stack)

    def _cut(self, final: bool = False) -> None:
        if self.cuts >= MAX_CUTS and not final:
            return  # over budget: the outermost blamed module takes what its imports did
        self.cuts += 1
        now = self.snapshot.capture(self.context)
        changes, _ = self.snapshot.diff(self.last, now, self.context)
        self.last = now
        top = self.stack[-1]
        # Still executing, or run since the last boundary: their globals are their own.
        own = {f.name for f in self.stack} | self.entered
        self.entered = set()
        kept = [c for c in _meaningful(changes) if not _own_definition(c, own)]
        if top.blamed and kept:
            self.segments.append({"module": top.path, "chain": [f.path for f in self.stack],
                                  "changes": [c.to_json() for c in kept]})

    # -- pytest's hooks ----------------------------------------------------------------------
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors += 1

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.finish(session.items)

    def pytest_unconfigure(self) -> None:
        self.stop()

    def finish(self, items: Sequence[pytest.Item]) -> None:
        """The end of collection: the whole run's diff, the victim's words, the output."""
        if self.done:
            return
        self.done = True
        self.stop()
        last = self.snapshot.capture(self.context)
        changes, _ = self.snapshot.diff(self.first, last, self.context)
        victim = next((item for item in items if item.nodeid == self.spec["victim"]), None)
        vocabulary: dict[str, Any] = {}
        if victim is not None:
            from isoscan.explain.plugin import victim_vocabulary

            vocabulary = victim_vocabulary(victim, Path(self.rootdir))
        document = {
            "schema": SCHEMA, "rootdir": self.rootdir, "imported": self.imported,
            "segments": self.segments, "overall": [c.to_json() for c in _meaningful(changes)],
            "vocabulary": vocabulary, "victim_found": victim is not None,
            "collect_errors": self.collect_errors, "cuts": self.cuts,
            "first_imported": self.first_imported, "pinpointed": self.pinpointed,
        }
        self.output.parent.mkdir(parents=True, exist_ok=True)
        partial = self.output.with_suffix(".partial")
        partial.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        partial.replace(self.output)


def _meaningful(changes: list[Any]) -> list[Any]:
    """Changes less the import machinery's own: modules entering ``sys.modules`` (how an import
    happens, not what it does) and a submodule bound onto its package."""
    from isoscan.explain.state import snapshot

    return [c for c in changes if c.kind != snapshot.SYS_MODULES
            and not (c.kind == snapshot.GLOBAL and c.change == "added" and c.name in sys.modules)]


def _own_definition(change: Any, own: set[str]) -> bool:
    """A global a module defines while it runs for the first time, or a name an import
    statement binds to a module: how an import happens, not a change another test could have
    read before."""
    from isoscan.explain.state import snapshot

    if change.kind != snapshot.GLOBAL:
        return False
    if change.detail.get("module") in own:
        return True
    return change.change in ("added", "rebound") and change.detail.get("type") == "module"


class _Finder(MetaPathFinder):
    """First on ``sys.meta_path``: asks the finders after it, and wraps the loader of a module
    the tracer follows so its execution is timed. Finds nothing itself."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.busy = False

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> ModuleSpec | None:
        if self.busy:
            return None
        self.busy = True
        try:
            spec = _spec_after(self, fullname, path, target)
        finally:
            self.busy = False
        if spec is not None and spec.loader is not None and \
                self.tracer.followed(fullname, spec.origin) is not None:
            _time_loader(spec.loader, self.tracer)
        return spec


def _spec_after(me: MetaPathFinder, fullname: str, path: Sequence[str] | None,
                target: types.ModuleType | None) -> ModuleSpec | None:
    for finder in list(sys.meta_path):
        find = getattr(finder, "find_spec", None) if finder is not me else None
        spec = find(fullname, path, target) if find is not None else None
        if spec is not None:
            return spec  # type: ignore[no-any-return]
    return None


_TIMED = "_isoscan_import_timed"


def _time_loader(loader: Any, tracer: Tracer) -> None:
    """Wraps ``loader.exec_module`` once, on the instance: pytest's assertion rewriter is one
    loader for many modules, so the wrapper asks each module's spec whose code is running."""
    try:
        if vars(loader).get(_TIMED):
            return
    except TypeError:  # no instance dict: a built-in loader, never a project module's
        return
    original: Callable[[types.ModuleType], None] = loader.exec_module

    def exec_module(module: types.ModuleType) -> None:
        spec = module.__spec__
        followed = tracer.followed(module.__name__, spec.origin if spec is not None else None)
        if followed is None:
            original(module)
            return
        tracer.enter(followed.path, followed.project, module.__name__)
        try:
            original(module)
        finally:
            tracer.exit()

    try:
        loader.exec_module = exec_module
        setattr(loader, _TIMED, True)
    except (AttributeError, TypeError):
        return
