"""What ``isoscan bisect`` answers about one victim: its kind and the tests to blame."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from isoscan.model.confidence import Confirmation
from isoscan.model.import_time import ImportDependence
from isoscan.model.verdicts import NotRun


class BisectKind(str, Enum):
    """What the victim turned out to be; the JSON's ``kind``."""

    VICTIM = "victim"
    BRITTLE = "brittle"
    NON_DETERMINISTIC = "non-deterministic"
    PARALLEL_ONLY = "parallel-only"
    # Passes alone in its own module, fails with the whole suite collected (model/import_time.py).
    IMPORT_TIME = "import-time"
    NOT_REPRODUCIBLE = "not-reproducible"
    # A trial did not run the victim (the session was refused, errored at its start, or ran
    # nothing) and no test crashed or hung it: no answer is given; ``not_run`` says why.
    UNCONFIRMED = "unconfirmed"


class Mechanism(str, Enum):
    """How a test on another xdist worker breaks a parallel-only victim."""

    LEFTOVER = "leftover"  # it ran earlier and left state behind: a serial replay reproduces
    COLLISION = "collision"  # both must run at the same moment: only a concurrent replay does


@dataclass(frozen=True)
class SharedResource:
    """A resource a culprit and its victim both touch, the culprit's access first."""

    culprit: str
    kind: str  # "file", "sqlite database", "port", ..., or the user's declared kind
    name: str
    culprit_access: str
    victim_access: str
    text: str  # "both use file audit.db (write/read)"

    def to_json(self) -> dict[str, str]:
        return {"culprit": self.culprit, "kind": self.kind, "name": self.name,
                "culprit_access": self.culprit_access, "victim_access": self.victim_access,
                "text": self.text}


@dataclass(frozen=True)
class ReplayTally:
    """How often the victim failed in a batch of replays, and with what beside it."""

    what: str
    failed: int
    tries: int

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "failed": self.failed, "tries": self.tries}


@dataclass
class ParallelAnswer:
    """What a parallel-only victim's search found beyond the culprit sets themselves."""

    mechanism: Mechanism
    workers: dict[str, str] = field(default_factory=dict)  # culprit -> its worker that run
    shared: list[SharedResource] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    checks: list[ReplayTally] = field(default_factory=list)
    rule: str = ""
    candidates: int = 0  # tests the search started from
    replays: int = 0  # concurrent replays the collision search ran (trials of its own)
    lanes_file: Path | None = None  # the concurrent replay ``isoscan replay`` reruns
    reproduced: ReplayTally | None = None  # the first culprit set's verification
    # The stated rule's account of that verification (model/confidence.py).
    confirmation: Confirmation | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "mechanism": self.mechanism.value,
            "workers": self.workers,
            "shared": [s.to_json() for s in self.shared],
            "fix_hints": self.hints,
            "checks": [c.to_json() for c in self.checks],
            "rule": self.rule,
            "candidates": self.candidates,
            "replays": self.replays,
            "lanes_file": str(self.lanes_file) if self.lanes_file else None,
            "reproduced": self.reproduced.to_json() if self.reproduced else None,
            "confirmation": self.confirmation.to_json() if self.confirmation else None,
        }


@dataclass
class BisectResult:
    victim: str
    kind: BisectKind
    polluters: list[list[str]] = field(default_factory=list)
    state_setters: list[str] = field(default_factory=list)
    cleaners: list[str] = field(default_factory=list)
    trials: int = 0
    reproduce: str | None = None
    order_file: Path | None = None
    source: str = ""
    concurrent: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0
    seed: int | None = None  # pytest-randomly seed context of the order it was found in
    reproduce_all: list[str] = field(default_factory=list)  # one per independent set
    parallel: ParallelAnswer | None = None  # a parallel-only victim's culprits: how and via what
    # For a victim that fails alone with the whole suite collected: alone in its own module.
    alone_in_module: list[str] = field(default_factory=list)
    import_time: ImportDependence | None = None
    # The stated rule's account of the check that the starting order reproduces.
    confirmation: Confirmation | None = None
    # What the polluters leave behind, as explain names it (``global `pkg.flag```), if known.
    state: str = ""
    not_run: NotRun | None = None  # an unconfirmed answer's trial, and why it ran nothing

    @property
    def found(self) -> bool:
        named = self.import_time is not None and bool(self.import_time.modules)
        return bool(self.polluters or self.state_setters) or named

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "isoscan.bisect/1",
            "victim": self.victim,
            "kind": self.kind.value,
            "polluters": self.polluters,
            "state_setters": self.state_setters,
            "cleaners": self.cleaners,
            "trials": self.trials,
            "reproduce": self.reproduce,
            "reproduce_all": self.reproduce_all,
            "order_file": str(self.order_file) if self.order_file else None,
            "source": self.source,
            "concurrent": self.concurrent,
            "left_out": self.left_out,
            "note": self.note,
            "seconds": round(self.seconds, 3),
            "parallel": self.parallel.to_json() if self.parallel is not None else None,
            "alone_in_module": self.alone_in_module,
            "import_time": self.import_time.to_json() if self.import_time is not None else None,
            "confirmation": self.confirmation.to_json() if self.confirmation else None,
            "state": self.state or None,
            "unconfirmed": self.not_run.to_json() if self.not_run is not None else None,
        }


