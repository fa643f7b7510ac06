"""What ``isoscan bisect`` answers about one victim: its kind and the tests to blame."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class BisectKind(str, Enum):
    """What the victim turned out to be; the JSON's ``kind``."""

    VICTIM = "victim"
    BRITTLE = "brittle"
    NON_DETERMINISTIC = "non-deterministic"
    PARALLEL_ONLY = "parallel-only"
    NOT_REPRODUCIBLE = "not-reproducible"


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

    @property
    def found(self) -> bool:
        return bool(self.polluters or self.state_setters)

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
        }


