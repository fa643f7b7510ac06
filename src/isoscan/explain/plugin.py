"""isoscan's snapshot plugin: what state the polluter(s) leave behind for the victim.

Loaded with ``-p isoscan.explain.plugin``; inert unless ``--isoscan-snapshot SPEC`` is given.
SPEC is a JSON file naming the polluters, the victim and the output file. The run's order file
(``--isoscan-order``) holds the polluters then the victim. This plugin takes over the run loop:
it snapshots process state before the first polluter and again where the victim would start
(after the polluters' teardown with the victim as the next item, so fixtures the victim shares
stay up, as in the failing order), never runs the victim, and writes the diff as JSON.

With ``"mode": "track"`` in SPEC (``isoscan seeds --track-state``) it instead runs every
collected test and diffs each one's state against the snapshot taken just before it.

Snapshots are taken outside every test's protocol, so pytest's own per-test state (warnings
catching, log capture, a timeout plugin's alarm) is the same both times and never reported.

A conftest.py can add its own state (row counts, keys in a cache) by implementing::

    @pytest.hookimpl(optionalhook=True)
    def pytest_isoscan_snapshot(config):
        return {"rows.users": count_rows("users")}

``optionalhook`` keeps plain pytest runs, where this plugin is not loaded, from rejecting it.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

SCHEMA = "isoscan.snapshot/1"
VOCABULARY_CAP = 5000  # names and strings kept per scope
PLUGIN_NAME = "isoscan-snapshotter"
TRACK = "track"  # spec mode of ``seeds --track-state``


class SnapshotHookSpecs:
    @pytest.hookspec
    def pytest_isoscan_snapshot(self, config: pytest.Config) -> dict[str, Any]:  # type: ignore[empty-body]
        """Return a JSON-able dict of state to compare before and after the polluter, e.g.
        row counts of the tables tests share. Called twice per ``isoscan explain``; close what
        you open (a connection left open would be reported as a leaked descriptor)."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(SnapshotHookSpecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("isoscan", "isoscan order recording and replay")
    group.addoption(
        "--isoscan-snapshot",
        metavar="SPEC",
        default=None,
        help="snapshot process state around the polluters named in the JSON file SPEC and "
             "write what changed (used by isoscan explain)",
    )


def pytest_configure(config: pytest.Config) -> None:
    spec_path = config.getoption("isoscan_snapshot")
    if spec_path:
        spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
        kind = Tracker if spec.get("mode") == TRACK else Snapshotter
        config.pluginmanager.register(kind(config, spec), PLUGIN_NAME)


class _Base:
    """What both modes share: the context, the loop's preamble, the fixture watch, output."""

    def __init__(self, config: pytest.Config, spec: dict[str, Any]) -> None:
        # Imported here: plain runs that load this plugin pay nothing for it.
        from isoscan.explain.state import snapshot
        self.snapshot = snapshot
        self.config = config
        self.output = Path(spec["output"])
        self.collect_errors = 0
        self.watching = False  # inside the tests whose fixture setups are watched
        self.watched: frozenset[str] | None = None  # fixture names watched; None: all
        self.fixture_changes: dict[str, list[Any]] = {}
        self.document: dict[str, Any] = {"schema": SCHEMA, "snapshotted": False}
        self.vocabulary: dict[str, dict[str, list[str]]] = {}
        system_tmp = tempfile.gettempdir()
        tmpdir = spec.get("tmpdir")
        if tmpdir:
            # A private temp dir: what a test writes there is not lost among other processes'
            # files. Set before any test runs, so every snapshot sees it.
            os.makedirs(tmpdir, exist_ok=True)
            os.environ["TMPDIR"] = tmpdir
            tempfile.tempdir = None
        self.context = snapshot.Context(
            rootdir=str(config.rootpath),
            tmpdir=tempfile.gettempdir(),
            system_tmp=system_tmp if tmpdir else "",
            exclude=frozenset(str(Path(p).resolve()) for p in spec.get("exclude", [])),
            user_state=self._user_state,
            victim_strings=self._victim_strings,
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors += 1

    def _may_run(self, session: pytest.Session) -> bool:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            raise session.Interrupted(f"{session.testsfailed} errors during collection")
        return not session.config.option.collectonly

    @staticmethod
    def _run(session: pytest.Session, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any) -> Any:
        """What a session/module/class fixture's setup changes is recorded apart: it is the
        fixture's doing, set up for whichever test came first."""
        if not self.watching or fixturedef.scope == "function" or (
                self.watched is not None and fixturedef.argname not in self.watched):
            yield
            return
        before = self.snapshot.capture(self.context)
        yield
        after = self.snapshot.capture(self.context)
        changes, _ = self.snapshot.diff(before, after, self.context)
        if changes:
            self.fixture_changes.setdefault(fixturedef.argname, []).extend(changes)

    def _split(self, changes: list[Any]) -> tuple[list[Any], list[dict[str, Any]]]:
        """The changes, less those a watched fixture's setup made (listed apart)."""
        by_fixtures = {c.line: name for name, made in self.fixture_changes.items() for c in made}
        apart = [{"fixture": by_fixtures[c.line], **c.to_json()} for c in changes
                 if c.line in by_fixtures]
        return [c for c in changes if c.line not in by_fixtures], apart

    def _user_state(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for result in self.config.hook.pytest_isoscan_snapshot(config=self.config):
            if isinstance(result, dict):
                merged.update(result)
        # Through JSON once, so what is compared is exactly what gets written.
        loaded: dict[str, Any] = json.loads(json.dumps(merged, default=str, sort_keys=True))
        return loaded

    def _victim_strings(self) -> frozenset[str]:
        return frozenset(s for scope in self.vocabulary.values() for s in scope["strings"])

    def _write(self) -> None:
        self.document.update(rootdir=self.context.rootdir, tmpdir=self.context.tmpdir,
                             collect_errors=self.collect_errors)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        partial = self.output.with_suffix(".partial")
        partial.write_text(json.dumps(self.document, ensure_ascii=False), encoding="utf-8")
        partial.replace(self.output)


class Snapshotter(_Base):
    """``isoscan explain``: state before the polluters against state where the victim would
    start; the victim is never run."""

    def __init__(self, config: pytest.Config, spec: dict[str, Any]) -> None:
        super().__init__(config, spec)
        self.polluters: list[str] = list(spec["polluters"])
        self.victim: str = spec["victim"]
        self.collected: list[str] = []
        self.missing: list[str] = []

    # tryfirst: sees every collected id before the orderer deselects the others.
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.collected = [item.nodeid for item in items]
        known = set(self.collected)
        self.missing = [n for n in [*self.polluters, self.victim] if n not in known]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        """pytest's own loop, with a snapshot before the first item and one in place of the
        victim; returning True keeps the default loop from running."""
        if not self._may_run(session) or self.missing:
            return True
        items = session.items
        victim = next((i for i in items if i.nodeid == self.victim), None)
        if victim is None:
            return True
        self.vocabulary = victim_vocabulary(victim, Path(self.context.rootdir))
        # A fixture the victim uses too (autouse included) would have been set up for it
        # anyway, whichever test came first: what its setup changes is not the polluter's.
        self.watched = frozenset(getattr(victim, "fixturenames", ()))
        started = time.perf_counter()
        before = self.snapshot.capture(self.context)
        before_seconds = time.perf_counter() - started
        self.watching = True
        for index, item in enumerate(items):
            if item is victim:
                break
            self._run(session, item, items[index + 1] if index + 1 < len(items) else None)
        self.watching = False
        self._after(before, before_seconds)
        return True

    def _after(self, before: Any, before_seconds: float) -> None:
        started = time.perf_counter()
        after = self.snapshot.capture(self.context)
        after_seconds = time.perf_counter() - started
        started = time.perf_counter()
        changes, diff_seconds = self.snapshot.diff(before, after, self.context)
        changes, shared = self._split(changes)
        total_diff = time.perf_counter() - started
        sections = {
            name: {"before": round(before.seconds.get(name, 0.0), 6),
                   "after": round(after.seconds.get(name, 0.0), 6),
                   "diff": round(diff_seconds.get(name, 0.0), 6)}
            for name in before.seconds
        }
        self.document.update(
            snapshotted=True,
            changes=[c.to_json() for c in changes],
            shared_fixture_changes=shared,
            notes=sorted(set(before.notes + after.notes)),
            timings={"before": round(before_seconds, 6), "after": round(after_seconds, 6),
                     "diff": round(total_diff, 6), "sections": sections},
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.document.update(polluters=self.polluters, victim=self.victim,
                             missing=self.missing, vocabulary=self.vocabulary)
        if self.missing:
            self.document["collected"] = self.collected
        self._write()


class Tracker(_Base):
    """``isoscan seeds --track-state``: every test's state changes, each against the snapshot
    taken just before it (the previous test's after-snapshot: nothing runs in between)."""

    def __init__(self, config: pytest.Config, spec: dict[str, Any]) -> None:
        super().__init__(config, spec)
        self.tests: dict[str, list[dict[str, Any]]] = {}
        self.fixtures: list[dict[str, Any]] = []
        self.seconds = 0.0

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if not self._may_run(session):
            return True
        items = session.items
        started = time.perf_counter()
        before = self.snapshot.capture(self.context)
        self.seconds += time.perf_counter() - started
        for index, item in enumerate(items):
            self.fixture_changes = {}
            self.watching = True
            self._run(session, item, items[index + 1] if index + 1 < len(items) else None)
            self.watching = False
            started = time.perf_counter()
            after = self.snapshot.capture(self.context)
            changes, _ = self.snapshot.diff(before, after, self.context)
            self.seconds += time.perf_counter() - started
            changes, by_fixtures = self._split(changes)
            if changes:
                self.tests[item.nodeid] = [c.to_json() for c in changes]
            self.fixtures += [{"test": item.nodeid, **c} for c in by_fixtures]
            before = after
        self.document.update(snapshotted=True)
        return True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.document.update(mode=TRACK, tests=self.tests, fixtures=self.fixtures,
                             seconds=round(self.seconds, 6))
        self._write()


# -- what the victim touches -------------------------------------------------------------------
def victim_vocabulary(item: pytest.Item, rootdir: Path) -> dict[str, dict[str, list[str]]]:
    """Names and string literals of the victim: ``test`` holds those of its own function and of
    the fixtures it uses that live in the project; ``module`` those of its whole module."""
    test_sources = [_source(getattr(item, "obj", None))]
    for func in _fixture_functions(item):
        try:
            path = inspect.getsourcefile(func) or ""
        except TypeError:  # a built-in
            continue
        if path and os.path.abspath(path).startswith(str(rootdir) + os.sep):
            test_sources.append(_source(func))
    try:
        module_text = item.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        module_text = ""
    test = _words(test_sources)
    # A constant the test reads by name (DB_PATH = "...") counts as mentioned by the test.
    namespace = vars(getattr(item, "module", None) or object())
    constants = {str(v)[:300] for name in test["names"]
                 if isinstance(v := namespace.get(name), (str, os.PathLike))}
    test["strings"] = sorted(set(test["strings"]) | constants)[:VOCABULARY_CAP]
    return {"test": test, "module": _words([module_text])}


def _fixture_functions(item: pytest.Item) -> list[Any]:
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", {}) if info is not None else {}
    return [fixturedefs[-1].func for fixturedefs in defs.values() if fixturedefs]


def _source(obj: object) -> str:
    if obj is None:
        return ""
    try:
        return textwrap.dedent(inspect.getsource(obj))  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def _words(sources: list[str]) -> dict[str, list[str]]:
    names: set[str] = set()
    strings: set[str] = set()
    for text in sources:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.update(node.name.split("."))
                if node.asname:
                    names.add(node.asname)
            elif isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
            elif isinstance(node, ast.Constant):
                if isinstance(node.value, str) and len(node.value) <= 300:
                    strings.add(node.value)
                elif isinstance(node.value, int) and not isinstance(node.value, bool) \
                        and node.value >= 1024:
                    strings.add(str(node.value))  # e.g. a port number
    return {"names": sorted(names)[:VOCABULARY_CAP], "strings": sorted(strings)[:VOCABULARY_CAP]}
