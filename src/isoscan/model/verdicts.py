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
    # A confirmation trial did not run it (the session was refused, errored at its start,
    # or ran nothing): no verdict is given; ``Evidence.unconfirmed`` says why.
    UNCONFIRMED = "unconfirmed"
    NON_DETERMINISTIC = "non-deterministic"
    FLAKY = "flaky"  # passed and failed, cause unknown (no order information to confirm)
    BROKEN = "broken"
    STABLE = "stable"


# What fails the exit code unless --fail-on says otherwise.
DEFAULT_FAIL_ON = frozenset({Verdict.ORDER_DEPENDENT, Verdict.BRITTLE, Verdict.PARALLEL_ONLY,
                             Verdict.IMPORT_TIME, Verdict.UNCONFIRMED})


class NotRunReason(str, Enum):
    """Why a confirmation trial did not run the test it was judging."""

    SESSION_ERROR = "session-error"  # the session failed to start: an error in its hooks
    REFUSED = "refused"  # the suite stopped the session (pytest.exit) or skipped the test
    NOTHING_RAN = "nothing-ran"  # the session ended without running it


@dataclass
class NotRun:
    """The trial an unconfirmed test's evidence stops at: which one, why, and the line of its
    pytest output that says so."""

    reason: NotRunReason
    trial: str  # "running it alone with the whole suite collected", "replaying its order…"
    log_line: str = ""
    run_id: int | None = None  # the stored run of that trial
    exit_code: int = 0

    def describe(self) -> str:
        said = {NotRunReason.SESSION_ERROR: "the session failed to start",
                NotRunReason.REFUSED: "the suite refused to run it",
                NotRunReason.NOTHING_RAN: "it did not run"}[self.reason]
        run = f" (run #{self.run_id})" if self.run_id is not None else ""
        line = f": {self.log_line}" if self.log_line else ""
        return f"unconfirmed: {said} in the trial {self.trial}{run}{line}"

    def to_json(self) -> dict[str, Any]:
        return {"reason": self.reason.value, "trial": self.trial, "log_line": self.log_line,
                "run_id": self.run_id, "exit_code": self.exit_code}

    @classmethod
    def from_json(cls, data: object) -> NotRun | None:
        if not isinstance(data, dict):
            return None
        try:
            run_id = data.get("run_id")
            return cls(NotRunReason(data.get("reason")), str(data.get("trial") or ""),
                       str(data.get("log_line") or ""),
                       run_id if isinstance(run_id, int) else None,
                       int(data.get("exit_code") or 0))
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class ClassOrderDependence:
    """A class whose tests depend on its own method order (``seeds/class_order.py``)."""

    owner: str  # path::Class
    tests: tuple[str, ...]  # its tests found brittle or order-dependent for it

    def to_json(self) -> dict[str, Any]:
        return {"class": self.owner, "tests": list(self.tests)}


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
    # An unconfirmed test's: the trial that did not run it.
    unconfirmed: NotRun | None = None
    # A brittle or order-dependent test that also failed under xdist in a run whose worker's
    # order passes when replayed serially: that order, replayed; a parallel-only finding too.
    also_parallel_only: Replay | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["import_time"] = self.import_time.to_json() if self.import_time else None
        data["confirmation"] = self.confirmation.to_json() if self.confirmation else None
        data["unconfirmed"] = self.unconfirmed.to_json() if self.unconfirmed else None
        for key in ("failing_order", "passing_order", "also_parallel_only"):
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
            unconfirmed=NotRun.from_json(data.get("unconfirmed")),
            also_parallel_only=Replay.from_json(data.get("also_parallel_only")),
        )


@dataclass
class Finding:
    nodeid: str
    verdict: Verdict
    evidence: Evidence

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        """Its verdict, then parallel-only when it is that as well (one verdict must not hide
        another): what the gate and a baseline match against."""
        also = self.evidence.also_parallel_only is not None and self.verdict is not \
            Verdict.PARALLEL_ONLY
        return (self.verdict, Verdict.PARALLEL_ONLY) if also else (self.verdict,)

    @property
    def polluter_candidates(self) -> list[str]:
        replay = self.evidence.failing_order
        return replay.prefix if replay else []


def _ints(value: object) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _strs(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
