"""The seeds report: the matrix of a session's runs and the verdicts on its unstable tests, as a
fresh ``isoscan seeds`` run returns it and ``isoscan report`` loads it from disk; every writer
and renderer reads it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from isoscan.errors import ExitCode
from isoscan.model.answer import BisectResult
from isoscan.model.coverage import PlanCoverage
from isoscan.model.matrix import Matrix
from isoscan.model.sweep import Sweep
from isoscan.model.verdicts import DEFAULT_FAIL_ON, ClassOrderDependence, Finding, Verdict


@dataclass
class SeedsReport:
    session_id: int
    matrix: Matrix
    findings: list[Finding]
    seconds: float
    trials: int
    planned: int
    interrupted: bool = False
    # Filled when a report is loaded from disk (report/load.py); empty after a fresh run.
    evidence_json: dict[str, dict[str, Any]] = field(default_factory=dict)  # raw, as stored
    run_labels: dict[int, str] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[BisectResult] = field(default_factory=list)  # with --bisect
    coverage: PlanCoverage | None = None  # a fresh run's planned orders; not kept in the store
    sweeps: list[Sweep] = field(default_factory=list)  # with --bisect: each polluter's sweep
    # Classes whose tests depend on their own method order, said once (a fresh run's).
    class_order: list[ClassOrderDependence] = field(default_factory=list)

    def verdict_of(self, nodeid: str) -> Verdict:
        for finding in self.findings:
            if finding.nodeid == nodeid:
                return finding.verdict
        return Verdict.STABLE

    @property
    def unstable(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict is not Verdict.STABLE]

    @property
    def unconfirmed(self) -> list[str]:
        """Tests that failed somewhere but got no verdict (the session was interrupted)."""
        judged = {f.nodeid for f in self.findings}
        return [t for t in self.matrix.suspects() if t not in judged]

    @property
    def stable_count(self) -> int:
        return len(self.matrix.tests) - len(self.unstable) - len(self.unconfirmed)

    def exit_code(self, fail_on: Collection[Verdict] = DEFAULT_FAIL_ON) -> ExitCode:
        failing = any(v in fail_on for f in self.findings for v in f.verdicts)
        return ExitCode.ATTENTION if failing else ExitCode.OK
