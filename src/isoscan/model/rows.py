"""What the store gives back: one session, one run, one test's execution in a run's process.
Plain data, so reports and the matrix can hold them without the store's connection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from isoscan.model.outcomes import Outcome
from isoscan.model.status import Command, OrderingKind, RunPurpose, RunStatus, SessionStatus


@dataclass(frozen=True)
class RunRow:
    id: int
    session_id: int
    purpose: RunPurpose
    ordering: str  # an OrderingKind; a report's foreign JUnit run: 'junit FILE'
    seed: int | None
    workers: int
    status: RunStatus
    exit_code: int | None
    seconds: float | None
    dir: Path

    @property
    def label(self) -> str:
        """How reports name the run: ``seed 42 -n 0``, ``reversed -n 2``, ``planned
        (seed 42) -n 0`` (a planned order, under that seed context)."""
        order = f"seed {self.seed}" if self.ordering == OrderingKind.RANDOM else self.ordering
        if self.ordering == OrderingKind.PLANNED:
            order = f"planned (seed {self.seed})"
        return f"{order} -n {self.workers}"


@dataclass(frozen=True)
class ExecutionRow:
    process: str
    worker: str
    segment: int
    seq: int
    nodeid: str
    started: float | None
    finished: float | None
    outcome: Outcome | None


@dataclass(frozen=True)
class SessionRow:
    id: int
    command: Command
    cwd: str
    paths: list[str]
    pytest_args: list[str]
    timeout: float | None
    started: float
    status: SessionStatus
    git_head: str | None
