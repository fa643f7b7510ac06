"""Verdicts, and the evidence each one rests on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    ORDER_DEPENDENT = "order-dependent"
    BRITTLE = "brittle"
    PARALLEL_ONLY = "parallel-only"
    NON_DETERMINISTIC = "non-deterministic"
    FLAKY = "flaky"  # passed and failed, cause unknown (no order information to confirm)
    BROKEN = "broken"
    STABLE = "stable"


# What fails the exit code unless --fail-on says otherwise.
DEFAULT_FAIL_ON = frozenset({Verdict.ORDER_DEPENDENT, Verdict.BRITTLE, Verdict.PARALLEL_ONLY})


@dataclass
class Replay:
    """Replays of one recorded order: the tests a process ran before the test, then the test."""

    run_id: int
    process: str
    prefix: list[str]
    seed: int | None
    outcomes: list[str] = field(default_factory=list)


@dataclass
class Evidence:
    failed_runs: list[int] = field(default_factory=list)
    passed_runs: list[int] = field(default_factory=list)
    alone: list[str] = field(default_factory=list)
    failing_order: Replay | None = None
    passing_order: Replay | None = None
    concurrent: list[str] = field(default_factory=list)  # on other workers as it failed
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("failing_order", "passing_order"):
            replay = data.get(key)
            if replay is not None:
                replay["prefix_length"] = len(replay["prefix"])
        return data


@dataclass
class Finding:
    nodeid: str
    verdict: Verdict
    evidence: Evidence

    @property
    def polluter_candidates(self) -> list[str]:
        replay = self.evidence.failing_order
        return replay.prefix if replay else []
