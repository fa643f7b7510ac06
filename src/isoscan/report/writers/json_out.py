"""``--json``: the ``isoscan.report/1`` document of report_json.py, plus what a loaded or gated
report adds (run labels, sources, stored evidence as stored, the gate). Documented in
docs/json-report.md."""

from __future__ import annotations

from typing import Any

from isoscan.model.report import SeedsReport
from isoscan.model.verdicts import Verdict
from isoscan.report.baseline import Gate
from isoscan.report.causes import causes_of
from isoscan.report.json_doc import report_document, write_json
from isoscan.report.load import JUNIT_ORDER
from isoscan.report.sources import SourceKind
from isoscan.report.writers.common import blame_of, labels


def document(report: SeedsReport, gate: Gate | None = None) -> dict[str, Any]:
    doc = report_document(report)
    for run, entry, label in zip(report.matrix.runs, doc["runs"], labels(report), strict=True):
        entry["label"] = label
        if run.ordering.startswith(f"{JUNIT_ORDER} "):
            entry["order"] = SourceKind.JUNIT
            entry["file"] = str(run.dir)
    findings = {f.nodeid: f for f in report.findings}
    for test in doc["tests"]:
        finding = findings.get(test["nodeid"])
        if finding is None:
            continue
        if test["nodeid"] in report.evidence_json:
            test["evidence"] = report.evidence_json[test["nodeid"]]
        if finding.verdict is not Verdict.STABLE:
            blame = blame_of(report, finding)
            test["blame"] = {"text": blame.text, "culprits": blame.culprits,
                             "candidates": blame.candidates}
    doc["sources"] = report.sources
    doc["causes"] = [cause.to_json() for cause in causes_of(report)]
    doc["sweeps"] = [sweep.to_json() for sweep in report.sweeps]
    doc["class_order"] = [c.to_json() for c in report.class_order]
    if gate is not None:
        doc["gate"] = gate_document(gate)
    return doc


def gate_document(gate: Gate) -> dict[str, Any]:
    return {
        "passed": gate.passed,
        "exit_code": gate.exit_code,
        "fail_on": sorted(v.value for v in gate.fail_on),
        "baseline": gate.baseline.path if gate.baseline else None,
        "new": [{"nodeid": f.nodeid, "verdict": f.verdict.value} for f in gate.new],
        "known": [{"nodeid": f.nodeid, "verdict": f.verdict.value} for f in gate.known],
        "fixed": [{"nodeid": c.nodeid, "verdict": c.verdict} for c in gate.fixed],
        "unseen": [{"nodeid": c.nodeid, "verdict": c.verdict} for c in gate.unseen],
    }


def write(report: SeedsReport, gate: Gate | None, target: str) -> None:
    write_json(document(report, gate), target)
