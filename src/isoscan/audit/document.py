"""The ``isoscan.audit/1`` JSON document (documented in docs/json-report.md)."""

from __future__ import annotations

from typing import Any

from isoscan.audit.model import AuditReport, PairStatus, ResourceRow
from isoscan.resources import describe_shared

SCHEMA = "isoscan.audit/1"


def audit_document(report: AuditReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "session": report.session_id,
        "collected": report.collected,
        "workers": report.workers,
        "dist": report.dist.value,
        "interrupted": report.interrupted,
        "fallback": report.fallback,
        "trials": report.trials,
        "seconds": round(report.seconds, 3),
        "map": {
            "run": report.map_run,
            "seconds": round(report.map_seconds, 3),
            "failed_serially": report.failed_serially,
            "tests": {test: [r.to_json() for r in resources]
                      for test, resources in report.touched.items()},
        },
        "full_runs": round(report.full_runs, 2),
        "collisions": [result.to_json() for result in report.collisions],
        "candidates": [
            {
                "tests": [c.first, c.second],
                "status": c.status.value,
                "score": c.score,
                "replays": c.replays,
                "shared": [describe_shared(s) for s in c.shared],
            }
            for c in report.candidates
        ],
        "shared_not_seen_to_collide": [
            [c.first, c.second] for c in report.candidates if c.status is PairStatus.SHARED
        ],
        "table": [_row(row) for row in report.rows],
    }


def _row(row: ResourceRow) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "name": row.name,
        "where": row.where,
        "text": row.text,
        "writers": row.writers,
        "readers": row.readers,
        "leave_data": row.leave_data,
        "collisions": [{"victim": v, "culprit": c} for v, c in row.collisions],
    }
