"""Verdicts, and the evidence each one rests on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from isoscan.model.confidence import Confirmation
from isoscan.model.import_time import ImportDependence


class Verdict(str, Enum):
    ORDER_DEPENDENT = "order-dependent"
    BRITTLE = "brittle"
    PARALLEL_ONLY = "parallel-only"
    # Passes alone in its own module, fails with the whole suite collected (model/import_time.py).
    IMPORT_TIME = "import-time"
    NON_DETERMINISTIC = "non-deterministic"
    FLAKY = "flaky"  # passed and failed, cause unknown (no order information to confirm)
    BROKEN = "broken"
    STABLE = "stable"


# What fails the exit code unless --fail-on says otherwise.
DEFAULT_FAIL_ON = frozenset({Verdict.ORDER_DEPENDENT, Verdict.BRITTLE, Verdict.PARALLEL_ONLY,
                             Verdict.IMPORT_TIME})


@dataclass
class Replay:
    """Replays of one recorded order: the tests a process ran before the test, then the test."""

    run_id: int
    process: str
    prefix: list[str]
    seed: int | None
    outcomes: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: object) -> Replay | None:
        if not isinstance(data, Mapping):
            return None
        run_id, seed = data.get("run_id"), data.get("seed")
        return cls(run_id=run_id if isinstance(run_id, int) else 0,
                   process=str(data.get("process") or ""), prefix=_strs(data.get("prefix")),
                   seed=seed if isinstance(seed, int) else None,
                   outcomes=_strs(data.get("outcomes")))


@dataclass
class Evidence:
    failed_runs: list[int] = field(default_factory=list)
    passed_runs: list[int] = field(default_factory=list)
    alone: list[str] = field(default_factory=list)
    failing_order: Replay | None = None
    passing_order: Replay | None = None
    concurrent: list[str] = field(default_factory=list)  # on other workers as it failed
    note: str = ""
    # ``alone`` is with the whole suite collected; this, in a fresh process that collects only
    # its own module (run for a test that fails alone): the two kinds of alone.
    alone_in_module: list[str] = field(default_factory=list)
    import_time: ImportDependence | None = None
    # The stated rule's account of the replays an order verdict rests on (model/confidence.py).
    confirmation: Confirmation | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["import_time"] = self.import_time.to_json() if self.import_time else None
        data["confirmation"] = self.confirmation.to_json() if self.confirmation else None
        for key in ("failing_order", "passing_order"):
            replay = data.get(key)
            if replay is not None:
                replay["prefix_length"] = len(replay["prefix"])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        """Evidence back from its stored JSON; unknown keys are ignored, missing ones default."""
        return cls(
            failed_runs=_ints(data.get("failed_runs")),
            passed_runs=_ints(data.get("passed_runs")),
            alone=_strs(data.get("alone")),
            failing_order=Replay.from_json(data.get("failing_order")),
            passing_order=Replay.from_json(data.get("passing_order")),
            concurrent=_strs(data.get("concurrent")),
            note=str(data.get("note") or ""),
            alone_in_module=_strs(data.get("alone_in_module")),
            import_time=ImportDependence.from_json(data.get("import_time")),
            confirmation=Confirmation.from_json(data.get("confirmation")),
        )


@dataclass
class Finding:
    nodeid: str
    verdict: Verdict
    evidence: Evidence

    @property
    def polluter_candidates(self) -> list[str]:
        replay = self.evidence.failing_order
        return replay.prefix if replay else []


def _ints(value: object) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _strs(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
