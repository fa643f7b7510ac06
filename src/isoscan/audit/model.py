"""What an audit found: the map, the candidate pairs, the confirmed collisions, the table."""

from __future__ import annotations

from dataclasses import dataclass, field

from isoscan.model.answer import BisectResult
from isoscan.model.status import TextEnum
from isoscan.resources import Resource, Shared


class Dist(TextEnum):
    """How xdist hands tests to workers (``--dist``): which two tests can run apart."""

    LOAD = "load"  # any two tests
    LOADSCOPE = "loadscope"  # tests of one module (or one class) stay on one worker
    LOADFILE = "loadfile"  # tests of one file stay on one worker


class PairStatus(TextEnum):
    COLLIDES = "collides"  # confirmed by the stated rule: a finding
    SHARED = "shared, not seen to collide"  # replayed with forced overlap; never failed
    UNSETTLED = "failed beside it, not confirmed"  # the rule did not confirm it: no finding
    NOT_TRIED = "not tried"  # past --pairs, or the audit was interrupted


@dataclass
class Candidate:
    first: str
    second: str
    shared: list[Shared]
    score: float
    status: PairStatus = PairStatus.NOT_TRIED
    replays: int = 0


@dataclass
class ResourceRow:
    """One shared resource: who changes it, who reads it, who leaves data in it, who
    collided through it (victim, culprit)."""

    kind: str
    name: str
    where: str  # the database or server ("" for files and ports)
    text: str  # "postgresql 127.0.0.1:5432/app table ledger"
    writers: list[str] = field(default_factory=list)
    readers: list[str] = field(default_factory=list)
    leave_data: list[str] = field(default_factory=list)
    collisions: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class AuditReport:
    session_id: int
    collected: int
    workers: int
    dist: Dist
    map_run: int | None = None
    map_seconds: float = 0.0
    touched: dict[str, list[Resource]] = field(default_factory=dict)
    failed_serially: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    collisions: list[BisectResult] = field(default_factory=list)
    rows: list[ResourceRow] = field(default_factory=list)
    trials: int = 0
    seconds: float = 0.0
    replay_seconds: float = 0.0
    fallback: str | None = None
    interrupted: bool = False

    @property
    def full_runs(self) -> float:
        """What the audit cost, in runs of the whole suite (its map run is one)."""
        return self.seconds / self.map_seconds if self.map_seconds > 0 else 0.0
