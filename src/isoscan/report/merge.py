"""Several reports as one (``isoscan report --merge``: the shards of one CI pipeline, several
stores, foreign JUnit): one matrix with runs renumbered 1…N in order, verdicts combined."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from isoscan.model.matrix import Matrix
from isoscan.model.report import SeedsReport
from isoscan.model.rows import RunRow
from isoscan.model.verdicts import Finding
from isoscan.report.classify import classify_from_matrix, rebased, strongest


@dataclass
class Part:
    """One source's report, and what the merge must know about it."""

    name: str
    report: SeedsReport
    foreign: bool  # read from JUnit: no verdicts of its own
    rerun_passed: set[str] = field(default_factory=set)


def combine(parts: Sequence[Part]) -> SeedsReport:
    runs: list[RunRow] = []
    matrix = Matrix(runs=runs)
    labels: dict[int, str] = {}
    foreign: set[int] = set()
    candidates: dict[str, list[tuple[Finding, dict[str, Any]]]] = {}
    for part in parts:
        remap: dict[int, int] = {}
        for run in part.report.matrix.runs:
            new_id = len(runs) + 1
            remap[run.id] = new_id
            runs.append(replace(run, id=new_id))
            label = part.report.run_labels.get(run.id) or run.label
            labels[new_id] = f"{part.name}: {label}" if part.name and len(parts) > 1 else label
            if part.foreign:
                foreign.add(new_id)
        for nodeid in part.report.matrix.tests:
            if nodeid not in matrix.cells:
                matrix.tests.append(nodeid)
                matrix.cells[nodeid] = {}
            for old, outcome in part.report.matrix.cells[nodeid].items():
                if old in remap:
                    matrix.cells[nodeid][remap[old]] = outcome
        for finding in part.report.findings:
            raw = part.report.evidence_json.get(finding.nodeid) or finding.evidence.to_json()
            candidates.setdefault(finding.nodeid, []).append((finding, remap_evidence(raw, remap)))
    rerun = set().union(*(p.rerun_passed for p in parts))
    findings: list[Finding] = []
    evidence: dict[str, dict[str, Any]] = {}
    for nodeid in matrix.tests:
        if nodeid in candidates:
            best = strongest(candidates[nodeid])
            finding, raw = rebased(best[0].verdict, best[1], nodeid, matrix)
            evidence[nodeid] = raw
        else:
            classified = classify_from_matrix(nodeid, matrix, foreign, nodeid in rerun)
            if classified is None:
                continue
            finding = classified
        findings.append(finding)
    return SeedsReport(
        session_id=0, matrix=matrix, findings=findings,
        seconds=sum(p.report.seconds for p in parts), trials=sum(p.report.trials for p in parts),
        planned=sum(p.report.planned for p in parts),
        interrupted=any(p.report.interrupted for p in parts), evidence_json=evidence,
        run_labels=labels, sources=[s for p in parts for s in p.report.sources],
        pairs=[pair for p in parts for pair in p.report.pairs],
    )


def remap_evidence(raw: Mapping[str, Any], remap: Mapping[int, int]) -> dict[str, Any]:
    """Stored evidence with run ids renumbered into the merged matrix (other keys untouched)."""
    data = copy.deepcopy(dict(raw))
    for key in ("failed_runs", "passed_runs"):
        if isinstance(data.get(key), list):
            data[key] = [remap[r] for r in data[key] if isinstance(r, int) and r in remap]
    for key in ("failing_order", "passing_order"):
        replay = data.get(key)
        if isinstance(replay, dict) and replay.get("run_id") in remap:
            replay["run_id"] = remap[replay["run_id"]]
    return data
