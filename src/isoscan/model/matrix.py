"""The pass/fail matrix: tests × runs, one outcome per cell (``store/matrix.py`` builds it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from isoscan.model.outcomes import Outcome
from isoscan.model.rows import RunRow


@dataclass
class Matrix:
    runs: list[RunRow]
    tests: list[str] = field(default_factory=list)
    cells: dict[str, dict[int, Outcome]] = field(default_factory=dict)

    def cell(self, nodeid: str, run_id: int) -> Outcome:
        return self.cells.get(nodeid, {}).get(run_id, Outcome.NOT_RUN)

    def row(self, nodeid: str) -> dict[int, Outcome]:
        return {run.id: self.cell(nodeid, run.id) for run in self.runs}

    def failed_runs(self, nodeid: str) -> list[RunRow]:
        return [r for r in self.runs if self.cell(nodeid, r.id).is_failure]

    def passed_runs(self, nodeid: str) -> list[RunRow]:
        return [r for r in self.runs if self.cell(nodeid, r.id) is Outcome.PASSED]

    def suspects(self) -> list[str]:
        """Tests that failed in at least one run."""
        return [t for t in self.tests if any(o.is_failure for o in self.cells[t].values())]
