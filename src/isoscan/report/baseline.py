"""Known cases and the CI gate.

A baseline is a JSON file of unstable tests people have seen, reviewed and accepted for now
(``isoscan baseline`` writes it from a report; it is committed with the code). The gate fails
only on cases in ``--fail-on`` that the baseline does not list; baseline cases that no longer
reproduce are reported as fixed, so the file can shrink.

    {"schema": "isoscan.baseline/1",
     "cases": [{"nodeid": "...", "verdict": "order-dependent", "polluters": [...], "reason": ""}]}

A case without ``verdict`` matches the test whatever its verdict.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isoscan.errors import ExitCode, UsageError
from isoscan.model.report import SeedsReport
from isoscan.model.verdicts import Finding, Verdict

SCHEMA = "isoscan.baseline/1"


@dataclass(frozen=True)
class Case:
    nodeid: str
    verdict: str | None  # None: any verdict
    reason: str = ""
    polluters: tuple[str, ...] = ()

    def matches(self, finding: Finding) -> bool:
        return finding.nodeid == self.nodeid and self.verdict in (
            None, *(v.value for v in finding.verdicts))

    def label(self) -> str:
        return f"{self.nodeid} ({self.verdict or 'any verdict'})"


@dataclass(frozen=True)
class Baseline:
    path: str
    cases: tuple[Case, ...]

    def find(self, finding: Finding) -> Case | None:
        return next((c for c in self.cases if c.matches(finding)), None)


def load_baseline(path: Path) -> Baseline:
    """Read and check a baseline; every problem is a usage error naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--baseline: file not found: {path} "
                         "(write one with 'isoscan baseline -o FILE')") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"--baseline {path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"--baseline {path}: expected a JSON object with "
                         f"\"schema\": \"{SCHEMA}\"")
    raw_cases = data.get("cases")
    if not isinstance(raw_cases, list):
        raise UsageError(f"--baseline {path}: \"cases\" must be a list")
    return Baseline(str(path), tuple(_case(path, n, c) for n, c in enumerate(raw_cases)))


def _case(path: Path, index: int, raw: object) -> Case:
    where = f"--baseline {path}: case {index + 1}"
    if not isinstance(raw, dict) or not isinstance(raw.get("nodeid"), str):
        raise UsageError(f"{where} needs a \"nodeid\" string")
    verdict = raw.get("verdict")
    if verdict is not None and verdict not in {v.value for v in Verdict}:
        raise UsageError(f"{where}: unknown verdict {verdict!r}")
    polluters = raw.get("polluters")
    return Case(raw["nodeid"], verdict, str(raw.get("reason") or ""),
                tuple(p for p in polluters if isinstance(p, str))
                if isinstance(polluters, list) else ())


def baseline_document(report: SeedsReport, previous: Baseline | None = None) -> dict[str, Any]:
    """Every unstable test of the report as a case; reasons people wrote earlier are kept."""
    from isoscan.report.writers.common import blame_of

    cases = []
    for finding in sorted(report.unstable, key=lambda f: (f.nodeid, f.verdict.value)):
        earlier = previous.find(finding) if previous else None
        blame = blame_of(report, finding)
        cases.append({
            "nodeid": finding.nodeid,
            "verdict": finding.verdict.value,
            "polluters": blame.culprits,
            "reason": earlier.reason if earlier else "",
        })
    return {
        "schema": SCHEMA,
        "comment": "Known unstable tests: the CI gate (--baseline) does not fail on these. "
                   "Review each case, give a reason, and delete it once fixed.",
        "cases": cases,
    }


@dataclass
class Gate:
    fail_on: frozenset[Verdict]
    baseline: Baseline | None = None
    new: list[Finding] = field(default_factory=list)  # fail the gate
    known: list[Finding] = field(default_factory=list)  # in fail_on, listed in the baseline
    fixed: list[Case] = field(default_factory=list)  # listed, ran, no longer reproduces
    unseen: list[Case] = field(default_factory=list)  # listed, not in this report's tests

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.ATTENTION if self.new else ExitCode.OK

    @property
    def passed(self) -> bool:
        return not self.new


def evaluate_gate(report: SeedsReport, fail_on: Collection[Verdict],
                  baseline: Baseline | None = None) -> Gate:
    gate = Gate(frozenset(fail_on), baseline)
    for finding in report.findings:
        if not any(v in gate.fail_on for v in finding.verdicts):
            continue
        if baseline is not None and baseline.find(finding) is not None:
            gate.known.append(finding)
        else:
            gate.new.append(finding)
    if baseline is not None:
        tested = set(report.matrix.tests)
        for case in baseline.cases:
            if case.nodeid not in tested:
                gate.unseen.append(case)
            elif not any(case.matches(f) for f in report.findings):
                gate.fixed.append(case)
    return gate


def gate_lines(gate: Gate) -> list[str]:
    """What the gate decided, for people; empty when there is nothing to say."""
    lines: list[str] = []
    if gate.baseline is not None:
        lines.append(f"Baseline {gate.baseline.path}: {len(gate.baseline.cases)} known cases")
        lines += _listed(gate.known, "known, still reproduces (does not fail the gate)")
        lines += _listed_cases(gate.fixed, "fixed: no longer reproduces, remove it from the "
                                           "baseline")
        lines += _listed_cases(gate.unseen, "not checked: the test is not in this report")
    if gate.new:
        kinds = ",".join(sorted(v.value for v in gate.fail_on))
        what = "new case" if gate.baseline is not None else "case"
        lines.append(f"Gate failed: {len(gate.new)} {what}{'s' if len(gate.new) > 1 else ''} "
                     f"in --fail-on {kinds}")
        lines += [f"  {f.nodeid} ({f.verdict.value})" for f in gate.new]
    elif gate.baseline is not None:
        lines.append("Gate passed: no new cases")
    return lines


def _listed(findings: Sequence[Finding], what: str) -> list[str]:
    return [f"  {f.nodeid} ({f.verdict.value}): {what}" for f in findings]


def _listed_cases(cases: Sequence[Case], what: str) -> list[str]:
    return [f"  {c.label()}: {what}" for c in cases]
