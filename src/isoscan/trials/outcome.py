"""What one trial tells: each test's outcome in an exact order, and the run it was stored as."""

from __future__ import annotations

from dataclasses import dataclass, field

from isoscan.model.outcomes import Outcome


@dataclass
class TrialOutcome:
    order: list[str]
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    exit_code: int = 0
    run_id: int | None = None
    missing: list[str] = field(default_factory=list)

    def outcome_of(self, nodeid: str) -> Outcome:
        return self.outcomes.get(nodeid, Outcome.NOT_RUN)
