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
    # Per test, when it ran (wall-clock start, finish) and, where recorded, what it touched
    # (``Resource.to_json`` entries): a concurrent replay tells from these what overlapped.
    times: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    touched: dict[str, list[list[str]]] = field(default_factory=dict)

    def outcome_of(self, nodeid: str) -> Outcome:
        return self.outcomes.get(nodeid, Outcome.NOT_RUN)
