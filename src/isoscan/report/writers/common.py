"""What every writer needs: the unstable tests in report order, run labels, and who to blame."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from isoscan.model.import_time import Alone, ImportDependence
from isoscan.model.report import SeedsReport
from isoscan.model.verdicts import Finding, Verdict

# The order of the terminal report: the verdicts that fail the gate by default first.
VERDICT_ORDER = [Verdict.ORDER_DEPENDENT, Verdict.BRITTLE, Verdict.PARALLEL_ONLY,
                 Verdict.IMPORT_TIME, Verdict.UNCONFIRMED, Verdict.NON_DETERMINISTIC,
                 Verdict.FLAKY, Verdict.BROKEN, Verdict.STABLE]

_SHOWN = 3  # candidates named before "…"
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (control characters, the ESC of ANSI colours)."""
    return _NOT_XML.sub("", text)


def unstable_sorted(report: SeedsReport) -> list[Finding]:
    return sorted(report.unstable, key=lambda f: (VERDICT_ORDER.index(f.verdict), f.nodeid))


def labels(report: SeedsReport) -> list[str]:
    return [report.run_labels.get(run.id) or run.label for run in report.matrix.runs]


def evidence_of(report: SeedsReport, finding: Finding) -> dict[str, Any]:
    """The evidence as stored (keys a newer isoscan added are kept), else as judged now."""
    raw = report.evidence_json.get(finding.nodeid)
    return dict(raw) if raw is not None else finding.evidence.to_json()


@dataclass
class Blame:
    text: str  # one line for people
    culprits: list[str] = field(default_factory=list)  # polluters/state-setters known for sure
    candidates: list[str] = field(default_factory=list)  # one of these, not known which


def blame_of(report: SeedsReport, finding: Finding) -> Blame:
    evidence = evidence_of(report, finding)
    pair = _pair(report, finding.nodeid, evidence)
    if finding.verdict is Verdict.ORDER_DEPENDENT:
        groups = _groups(pair.get("polluters")) if pair else []
        if groups:
            names = "; ".join(" + ".join(g) for g in groups)
            return Blame(f"polluter{'s' if len(groups) > 1 else ''}: {names}",
                         [t for g in groups for t in g])
        return _from_order(evidence.get("failing_order"), "polluter", "fails after",
                           "passes alone")
    if finding.verdict is Verdict.BRITTLE:
        setters = [t for g in _groups(pair.get("state_setters")) for t in g] if pair else []
        if setters:
            return Blame(f"state-setter: {', '.join(setters)}", setters)
        return _from_order(evidence.get("passing_order"), "state-setter", "passes only after",
                           _fails_alone(evidence))
    if finding.verdict is Verdict.IMPORT_TIME:
        dependence = ImportDependence.from_json(evidence.get("import_time"))
        if dependence is not None:
            own = dependence.own_module
            if own is not None and own.found:
                blamed = [t for group in own.polluters for t in group] + own.state_setters
                return Blame(f"{dependence.text}; also, in its own-module frame, {own.text}",
                             [*dependence.modules, *blamed])
            return Blame(dependence.text, list(dependence.modules))
    if finding.verdict is Verdict.PARALLEL_ONLY:
        groups = _groups(pair.get("polluters")) if pair else []
        if groups:
            return _parallel_blame(groups, pair.get("parallel"))
        beside = _strs(evidence.get("concurrent"))
        shown = ", ".join(beside[:_SHOWN]) + (" …" if len(beside) > _SHOWN else "")
        text = f"fails only under xdist; ran beside: {shown}" if beside else \
            "fails only under xdist; its worker's order passes serially"
        return Blame(text, candidates=beside)
    return Blame(str(evidence.get("note") or _DEFAULT_NOTE.get(finding.verdict, "")))


def _parallel_blame(groups: list[list[str]], parallel: object) -> Blame:
    """A parallel-only test's verified culprits, how they break it and what they share."""
    answer = parallel if isinstance(parallel, Mapping) else {}
    how = ("left state behind on another worker" if answer.get("mechanism") == "leftover"
           else "collides from another worker")
    names = "; ".join(" + ".join(g) for g in groups)
    shared = [str(s.get("text")) for s in answer.get("shared") or [] if isinstance(s, Mapping)]
    text = f"culprit{'s' if len(groups) > 1 else ''} ({how}): {names}"
    if shared:
        text += f"; {shared[0]}"
    return Blame(text, [t for g in groups for t in g])


def _fails_alone(evidence: Mapping[str, Any]) -> str:
    """Which alone a brittle test fails: with the whole suite collected, and in its own module
    too when that was checked."""
    if _strs(evidence.get("alone_in_module")):
        return "fails alone, in its own module too"
    return f"fails {Alone.SUITE.phrase}"


def import_time_lines(dependence: ImportDependence) -> list[str]:
    """An import-time dependence as plain lines: what breaks it, where, and the two commands."""
    lines = [f"import-time: {dependence.text}"]
    for cause in dependence.headline_causes():
        lines.append(f"  {cause.summary}")
        if cause.where:
            lines.append(f"  through: {cause.where}")
        if cause.statement:
            lines.append(f"  {cause.statement}")
        lines += [f"    called: {call}" for call in cause.calls]
        if cause.hint:
            lines.append(f"  fix: {cause.hint}")
    if dependence.passes:
        lines.append(f"passes alone in its own module: {dependence.passes}")
    if dependence.fails:
        lines.append(f"fails with {' and '.join(dependence.modules)} collected too: "
                     f"{dependence.fails}")
    own = dependence.own_module
    if own is not None and own.found:
        lines.append(f"also, in its own-module frame, {own.text}")
        if own.state:
            lines.append(f"  it leaves: {own.state}")
        if own.fix:
            lines.append(f"  fix: {own.fix}")
        lines += [f"reproduce (fails): {command}" for command in own.reproduce_all]
    return lines


_DEFAULT_NOTE = {
    Verdict.NON_DETERMINISTIC: "passed and failed in the same order",
    Verdict.UNCONFIRMED: "a confirmation trial did not run it",
    Verdict.FLAKY: "passed and failed across runs; cause unknown",
    Verdict.BROKEN: "failed in every run",
}


def _from_order(replay: object, role: str, relation: str, alone: str) -> Blame:
    prefix = _strs(replay.get("prefix")) if isinstance(replay, Mapping) else []
    if len(prefix) == 1:
        return Blame(f"{role}: {prefix[0]} ({relation} it, {alone})", prefix)
    if not prefix:
        return Blame(f"{alone}; no recorded order names a {role}")
    shown = ", ".join(prefix[-_SHOWN:])
    return Blame(f"{relation} {len(prefix)} tests of its recorded order, {alone}; "
                 f"the {role} is one of them (nearest: {shown}) - "
                 "'isoscan bisect' names it", candidates=prefix)


def bisect_answer(report: SeedsReport, finding: Finding) -> Mapping[str, Any]:
    """The bisect answer stored or given for this test, as JSON; {} when it has none."""
    return _pair(report, finding.nodeid, evidence_of(report, finding))


def polluter_sets(answer: Mapping[str, Any]) -> list[list[str]]:
    return _groups(answer.get("polluters"))


def _pair(report: SeedsReport, nodeid: str, evidence: Mapping[str, Any]) -> Mapping[str, Any]:
    """The bisect answer for this test: ``seeds --bisect`` pairs, or a stored evidence key."""
    for result in report.pairs:
        if result.victim == nodeid:
            return result.to_json()
    for pool in (evidence.get("pairs"), evidence.get("pair")):
        for item in pool if isinstance(pool, list) else [pool]:
            if isinstance(item, Mapping) and item.get("victim", nodeid) == nodeid:
                return item
    return {}


def _groups(value: object) -> list[list[str]]:
    """``[[a, b], [c]]`` (sets) or ``[a, c]`` (one each) → list of sets."""
    if not isinstance(value, list):
        return []
    groups: list[list[str]] = []
    for item in value:
        if isinstance(item, str):
            groups.append([item])
        elif isinstance(item, list) and _strs(item):
            groups.append(_strs(item))
    return groups


def _strs(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
