"""Trials: running an exact ordered list of tests once, serially, in a fresh process (or
several lists side by side, one process each: a concurrent replay).

Every confirmation replay and bisect step is a trial. Each one is stored as a run, so the
evidence behind a verdict can be looked at afterwards. ``TrialRunner`` is the one complete
interface every way of running trials implements; what only a fork of a collected session can
do (scan, snapshot) has a default that says "not here" (None), so callers never probe.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from enum import Enum
from pathlib import Path

from isoscan.execution.argv import Suite
from isoscan.execution.runner import RunResult
from isoscan.execution.timeouts import HangBook
from isoscan.model.status import RunPurpose
from isoscan.store.db import Store
from isoscan.trials.lanes import Lane
from isoscan.trials.outcome import TrialOutcome
from isoscan.trials.scan import ScanResult, ScanStop

__all__ = ["TrialMode", "TrialOutcome", "TrialRunner"]


class TrialMode(str, Enum):
    FORK = "fork"  # a fork of one collected session per trial
    SUBPROCESS = "subprocess"  # a fresh pytest process per trial


class TrialRunner(ABC):
    """Runs trials; ``count`` counts them. ``hangs`` is what the session learnt about hangs:
    every trial reads into it, and a test that ran past the full timeout before is stopped at
    its early bound (``execution/timeouts.py``)."""

    def __init__(self, suite: Suite, store: Store, session_id: int, purpose: RunPurpose,
                 hangs: HangBook | None = None) -> None:
        self.suite = suite
        self.store = store
        self.session_id = session_id
        self.purpose = purpose
        self.count = 0  # trials run so far
        self.hangs = hangs if hangs is not None else HangBook(suite.timeout)

    @abstractmethod
    def run(self, order: Sequence[str], seed: int | None = None, *,
            full_timeout: Collection[str] = ()) -> TrialOutcome:
        """Runs ``order`` once, serially, in a fresh process (or fork); stores it as a run.
        The tests in ``full_timeout`` get the whole ``--timeout``, not their early bound: a
        verdict resting on a hang is confirmed that way once."""

    @abstractmethod
    def run_concurrent(self, lanes: Sequence[Lane], seed: int | None = None, *,
                       full_timeout: Collection[str] = (), workers: int = 0) -> TrialOutcome:
        """Runs every lane at once, each in a process of its own, each test held back until
        its time in the lanes' timetable; records what each test touches. One stored run.
        ``full_timeout`` as for ``run``. A lane whose ``worker`` is an xdist worker id runs
        as that worker (``PYTEST_XDIST_WORKER``, ``worker_id``); ``workers``: the recorded
        run's worker count."""

    @property
    def mode(self) -> TrialMode:
        return TrialMode.SUBPROCESS

    def collected(self) -> list[str] | None:
        """The suite's ids in collection order when this runner collected them already (a
        fork server); None when the caller must collect them itself."""
        return None

    def scan(self, tests: Sequence[str], victim: str, seed: int | None = None, *,
             stop: ScanStop = ScanStop.FAILS) -> ScanResult | None:
        """One pass over ``tests`` with the victim checked at checkpoints along the way
        (``scan_chain.py``); None where trials do not fork."""
        return None

    def snapshot(self, order: Sequence[str], spec: Path, workdir: Path,
                 seed: int | None = None) -> RunResult | None:
        """``isoscan explain``'s run in a fork of the collected session; None where trials
        do not fork (explain then runs its own pytest process)."""
        return None

    def run_alone_chunks(self, chunks: Sequence[Sequence[str]], seed: int | None = None, *,
                         jobs: int = 1, on_exit: Callable[[int, int], None] | None = None,
                         on_chunk: Callable[[TrialOutcome], None]) -> None:
        """Every id alone. Here: one trial per id, one at a time, ``on_chunk`` hearing each
        trial as it is stored and ``on_exit(done, total)`` counting them."""
        total = sum(len(chunk) for chunk in chunks)
        done = 0
        for chunk in chunks:
            for nodeid in chunk:
                on_chunk(self.run([nodeid], seed))
                done += 1
                if on_exit is not None:
                    on_exit(done, total)

    def close(self) -> None:  # noqa: B027 - most runners keep nothing alive
        """Ends what the runner keeps alive between trials (a fork server)."""
