"""``isoscan explain`` as a library: which state the polluter(s) leave behind, ranked by what
the victim touches, each with a concrete fix.

One pytest process runs the polluters with the victim queued after them; the snapshot plugin
diffs process state around them and never runs the victim. Ranking is a cheap heuristic over
the victim's source (see docs/explain.md): a change whose key, name or file name appears in the
victim's own function or its fixtures comes first, then those its module mentions, then the
rest by how often that kind of state breaks other tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from isoscan.errors import SuiteError, UsageError, pytest_reason
from isoscan.execution.argv import Ordering, Suite
from isoscan.execution.collect import require_collected
from isoscan.execution.runner import RunResult, execute_run
from isoscan.explain.fix_hints import hint_for
from isoscan.explain.state import snapshot as s
from isoscan.explain.state.base import Change
from isoscan.model.outcomes import Outcome
from isoscan.model.status import OrderingKind

SCHEMA = "isoscan.explain/1"
PLUGIN = "isoscan.explain.plugin"
TEST = "test"  # the victim's own function and the project fixtures it uses
MODULE = "module"  # the victim's whole module

# Kinds whose terms (env keys, file names, row keys) also match inside a longer string
# literal of the victim: "data/cache.json" names cache.json, "DATABASE_URL=..." names the key.
_LOOSE = frozenset({s.ENV, s.FILE, s.USER, s.SYS_PATH, s.SOCKET})
# Within a tier: how often each kind breaks another test. What a team declared through its
# hook comes first: it is the state they know their tests share.
_WEIGHT = {s.USER: 4, s.ENV: 3, s.CWD: 3, s.GLOBAL: 3, s.FILE: 3, s.TIMEZONE: 2, s.LOCALE: 2,
           s.SYS_PATH: 2, s.SYS_ARGV: 2, s.LOGGING: 2, s.WARNINGS: 2, s.SIGNAL: 2,
           s.ASYNCIO: 2, s.SYS_MODULES: 0}



@dataclass(frozen=True)
class Vocabulary:
    """The victim's names and string literals, per scope, as the snapshot plugin read them."""

    scopes: Mapping[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Vocabulary:
        return cls({scope: (frozenset(words.get("names", ())), frozenset(words.get("strings", ())))
                    for scope, words in data.items()})

    def find(self, change: Change) -> tuple[str, str] | None:
        """The first scope (test, then module) that mentions one of the change's terms."""
        for scope in (TEST, MODULE):
            names, strings = self.scopes.get(scope, (frozenset(), frozenset()))
            for term in change.terms:
                if term in names or term in strings:
                    return scope, term
                if change.kind in _LOOSE and len(term) >= 3 and any(term in t for t in strings):
                    return scope, term
        return None


@dataclass(frozen=True)
class RankedChange:
    change: Change
    rank: int
    where: str | None  # TEST, MODULE or None: where the victim mentions it
    term: str | None
    hint: str

    @property
    def line(self) -> str:
        return self.change.line

    @property
    def reason(self) -> str:
        if self.where is None:
            return ""
        scope = "the victim's test or its fixtures" if self.where == TEST \
            else "the victim's module"
        return f"mentioned by {scope}: {self.term!r}"

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, **self.change.to_json(), "line": self.line,
                "mentioned_in": self.where, "term": self.term, "hint": self.hint}


@dataclass
class Explanation:
    polluters: list[str]
    victim: str
    changes: list[RankedChange]
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Left out: made by the setup of a session/module/class fixture the victim uses too.
    shared_fixture_changes: list[tuple[str, Change]] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    run: RunResult | None = field(default=None, repr=False, compare=False)

    @property
    def found(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "polluters": self.polluters,
            "victim": self.victim,
            "found": self.found,
            "changes": [c.to_json() for c in self.changes],
            "polluter_outcomes": {n: o.value for n, o in self.outcomes.items()},
            "notes": self.notes,
            "shared_fixture_changes": [{"fixture": f, **c.to_json(), "line": c.line}
                                       for f, c in self.shared_fixture_changes],
            "timings": self.timings,
            "seconds": round(self.seconds, 3),
        }


class SnapshotRunner(Protocol):
    """Runs the snapshot in a fork of an already collected session (``ForkTrials``)."""

    def snapshot(self, order: Sequence[str], spec: Path, workdir: Path,
                 seed: int | None = None) -> RunResult | None: ...


def explain(suite: Suite, polluters: Sequence[str], victim: str, workdir: Path, *,
            seed: int | None = None, exclude: Sequence[Path] = (),
            runner: SnapshotRunner | None = None) -> Explanation:
    """Run ``polluters`` in a fresh process, then report the state they left for ``victim``.

    ``workdir`` receives the spec, the snapshot JSON, the order file and pytest's output;
    ``seed`` is the pytest-randomly seed context of the failing order, if any; ``exclude`` are
    further directories the file walk must skip (the store, when it is under the rootdir).
    ``runner``: a fork server that has collected the suite already (``isoscan bisect``); the
    process is then a fork of it instead of a new pytest process. Raises UsageError for ids
    pytest did not collect, SuiteError if the suite cannot run.
    """
    started = time.monotonic()
    polluters = list(polluters)
    _check_ids(polluters, victim)
    # Absolute: the polluter may change the working directory before the plugin writes.
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / "snapshot.json"
    output.unlink(missing_ok=True)
    spec_path = workdir / "snapshot-spec.json"
    spec = {"polluters": polluters, "victim": victim, "output": str(output),
            "tmpdir": str(workdir / "tmp"),
            "exclude": [str(workdir), *(str(p.resolve()) for p in exclude)]}
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    run = runner.snapshot([*polluters, victim], spec_path, workdir, seed) if runner else None
    if run is None:
        args = (*suite.pytest_args, "-p", PLUGIN, f"--isoscan-snapshot={spec_path}")
        run = execute_run(replace(suite, pytest_args=args),
                          Ordering(OrderingKind.EXPLICIT, seed), 0, workdir, junit=False,
                          resume=False, explicit=[*polluters, victim])
    document = _checked(_read(output), run, polluters)
    changes = [Change.from_json(c) for c in document.get("changes", [])]
    ranked = rank(changes, Vocabulary.from_json(document.get("vocabulary", {})))
    outcomes = {p: run.results[p].outcome for p in polluters if p in run.results}
    shared = [(str(c["fixture"]), Change.from_json(c))
              for c in document.get("shared_fixture_changes", [])]
    return Explanation(polluters, victim, ranked, outcomes, list(document.get("notes", [])),
                       shared, dict(document.get("timings", {})), time.monotonic() - started,
                       run)


def rank(changes: Sequence[Change], vocabulary: Vocabulary) -> list[RankedChange]:
    """Mentioned by the victim's test first, then by its module, then by kind; within a tier
    the snapshot's own order (by kind, then name) is kept."""
    level = {TEST: 2, MODULE: 1}
    scored = []
    for index, change in enumerate(changes):
        found = vocabulary.find(change)
        key = (-level[found[0]] if found else 0, -_WEIGHT.get(change.kind, 1), index)
        scored.append((key, change, found))
    scored.sort(key=lambda entry: entry[0])
    return [RankedChange(change, number, found[0] if found else None,
                         found[1] if found else None, hint_for(change))
            for number, (_, change, found) in enumerate(scored, start=1)]


def _check_ids(polluters: list[str], victim: str) -> None:
    if not polluters:
        raise UsageError("name at least one polluter")
    if victim in polluters:
        raise UsageError(f"the victim is also listed as a polluter: {victim}")
    if len(set(polluters)) != len(polluters):
        raise UsageError("a polluter is listed twice")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _checked(document: dict[str, Any] | None, run: RunResult, polluters: list[str]
             ) -> dict[str, Any]:
    """The snapshot document, or the error that explains why there is none."""
    tail = run.output_tail()
    if document is not None and document.get("collect_errors"):
        raise SuiteError("the suite could not be collected (errors during collection)", tail)
    if document is not None and document.get("missing"):
        for nodeid in document["missing"]:
            require_collected(nodeid, list(document.get("collected", [])))
    if document is not None and document.get("snapshotted"):
        return document
    died = [p for p in polluters if p in run.results and
            run.results[p].outcome in (Outcome.CRASHED, Outcome.TIMEOUT)]
    if died:
        outcome = run.results[died[0]].outcome.value
        raise SuiteError(f"{died[0]} {outcome} the test process before its state could be "
                         "read", tail)
    reason = pytest_reason(run.exit_code)
    raise SuiteError(f"the suite could not run: {reason}", tail)
