"""The ``isoscan.report/1`` JSON document (documented in docs/json-report.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from isoscan.model.report import SeedsReport

SCHEMA = "isoscan.report/1"


def report_document(report: SeedsReport) -> dict[str, Any]:
    findings = {f.nodeid: f for f in report.findings}
    runs = [
        {
            "id": run.id,
            "order": run.ordering,
            "seed": run.seed,
            "workers": run.workers,
            "status": run.status,
            "exit_code": run.exit_code,
            "seconds": round(run.seconds or 0.0, 3),
        }
        for run in report.matrix.runs
    ]
    tests = []
    for nodeid in report.matrix.tests:
        finding = findings.get(nodeid)
        entry: dict[str, Any] = {
            "nodeid": nodeid,
            "verdict": finding.verdict.value if finding else "stable",
            "outcomes": {str(r): o.value for r, o in report.matrix.row(nodeid).items()},
        }
        if finding is not None:
            entry["evidence"] = finding.evidence.to_json()
        tests.append(entry)
    return {
        "schema": SCHEMA,
        "session": report.session_id,
        "interrupted": report.interrupted,
        "seconds": round(report.seconds, 3),
        "trials": report.trials,
        "runs": runs,
        "tests": tests,
        "summary": _summary(tests),
        "pairs": [
            {
                "victim": pair.victim,
                "kind": pair.kind.value,
                "polluters": pair.polluters,
                "state_setters": pair.state_setters,
                "cleaners": pair.cleaners,
                "reproduce": pair.reproduce,
                "trials": pair.trials,
                "parallel": pair.parallel.to_json() if pair.parallel is not None else None,
                "state": pair.state or None,
                "source": pair.source,
            }
            for pair in report.pairs
        ],
        "plan": report.coverage.to_json() if report.coverage is not None else None,
    }


def _summary(tests: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for test in tests:
        counts[test["verdict"]] = counts.get(test["verdict"], 0) + 1
    return counts


def write_json(document: dict[str, Any], target: str) -> None:
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        Path(target).write_text(text, encoding="utf-8")
