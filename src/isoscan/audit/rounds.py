"""Rounds: the replays of several candidate pairs at once, each its own lanes of one concurrent
trial, when the map says no test of one can meet any test of another.

Each candidate is proven by a procedure (``provoke.py``): a generator that yields the lanes it
needs next (a pair side by side, or one test alone) and is sent back what ran. A round takes
the pending asks in rank order, skips any that would share a test, or a resource one side
changes, with an ask already taken, or would pass ``lanes_at_once`` (``--workers``: as many
processes as ``pytest -n N`` runs at once), and runs them as one trial. So the audit's cost
grows with the longest chain of replays one candidate needs, not with their sum.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace

from isoscan.trials.base import TrialRunner
from isoscan.trials.lanes import Lane
from isoscan.trials.outcome import TrialOutcome


@dataclass(frozen=True)
class Ran:
    """What one ask got back: the round's outcome and the ask's lanes as they ran (their
    xdist worker ids renumbered within the round)."""

    outcome: TrialOutcome
    lanes: list[Lane]


Procedure = Generator[list[Lane], Ran, None]
Apart = Callable[[frozenset[str], frozenset[str]], bool]


@dataclass
class Job:
    """One candidate's procedure, how long one of its replays takes (from the map run) and
    how many it has had."""

    procedure: Procedure
    seconds: float
    asks: int = 0


def run_rounds(trials: TrialRunner, jobs: Sequence[Job], lanes_at_once: int, apart: Apart,
               workers: int, expected_asks: int) -> None:
    """Runs every job's procedure to its end, batching independent asks into rounds;
    ``workers`` is what each lane's ``PYTEST_XDIST_WORKER_COUNT`` says. The job with the most
    work left (its replay's seconds times the ``expected_asks`` it has not had yet) asks
    first: the longest chain of replays sets how many rounds there are, and a short pair
    left to the end would add rounds of its own."""
    active: list[tuple[Job, list[Lane]]] = []
    for job in jobs:
        first = next(job.procedure, None)
        if first is not None:
            active.append((job, first))
    while active:
        active.sort(key=lambda item: -item[0].seconds * max(1, expected_asks - item[0].asks))
        taken: list[int] = []
        taken_tests: list[frozenset[str]] = []
        lanes: list[Lane] = []
        slices: list[slice] = []
        for index, (_, asked) in enumerate(active):
            tests = frozenset(t for lane in asked for t in lane.tests)
            if taken and (len(lanes) + len(asked) > lanes_at_once
                          or not all(apart(tests, other) for other in taken_tests)):
                continue
            begin = len(lanes)
            lanes += _renumbered(asked, sum(1 for lane in lanes if lane.worker))
            slices.append(slice(begin, len(lanes)))
            taken.append(index)
            taken_tests.append(tests)
        outcome = trials.run_concurrent(lanes, workers=workers)
        finished: set[int] = set()
        for index, part in zip(taken, slices, strict=True):
            job = active[index][0]
            job.asks += 1
            try:
                active[index] = (job, job.procedure.send(Ran(outcome, lanes[part])))
            except StopIteration:
                finished.add(index)
        active = [item for index, item in enumerate(active) if index not in finished]


def _renumbered(lanes: Sequence[Lane], first: int) -> list[Lane]:
    """Lanes standing for xdist workers get the round's next worker ids, so no two lanes of
    a round claim one worker (a test that derives a name from ``worker_id`` sees a real
    ``-n N`` run); a lane alone keeps no worker id."""
    out: list[Lane] = []
    number = first
    for lane in lanes:
        if lane.worker:
            out.append(replace(lane, worker=f"gw{number}"))
            number += 1
        else:
            out.append(lane)
    return out
