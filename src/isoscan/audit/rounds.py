"""Rounds: the replays of several candidate pairs at once, each its own lanes of one concurrent
trial, when the map says no test of one can meet any test of another.

Each candidate is proven by a procedure (``provoke.py``): a generator that yields the lanes it
needs next (a pair side by side, or one test alone) and is sent back what ran. A round takes
the pending asks, the job with the most work left first, skips any that would share a test, or
a resource one side changes, with an ask already taken, and runs the rest as one trial, with
at most ``lanes_at_once`` lanes running at any moment (``--workers``: as many processes as
``pytest -n N`` runs at once). A short ask may start later in the round, in lanes an earlier
short ask has left, as long as it ends before the round's longest ask (the lengths are the
map run's, with a margin): one long pair does not leave the other lanes idle. So the audit's
cost grows with the longest chain of replays one candidate needs, not with their sum.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace

from isoscan.trials.base import TrialRunner
from isoscan.trials.lanes import Lane
from isoscan.trials.outcome import TrialOutcome

# An ask expected to end before this share of the round's expected length has time to spare:
# its lanes come last in the round and are forked once the others are ready.
SLACK = 0.75


@dataclass(frozen=True)
class Ran:
    """What one ask got back: the round's outcome and the ask's lanes as they ran (their
    xdist worker ids renumbered within the round, their start ``delay`` in it)."""

    outcome: TrialOutcome
    lanes: list[Lane]  # as asked, with the round's worker ids
    delay: float = 0.0  # seconds after the round's start the ask's lanes started at


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
               workers: int, expected_asks: int,
               length: Callable[[Sequence[Lane]], float]) -> None:
    """Runs every job's procedure to its end, batching independent asks into rounds;
    ``workers`` is what each lane's ``PYTEST_XDIST_WORKER_COUNT`` says, ``length`` how long an
    ask's lanes are expected to run. The job with the most work left (its replay's seconds
    times the ``expected_asks`` it has not had yet) asks first: the longest chain of replays
    sets how many rounds there are, and a short pair left to the end would add rounds of its
    own."""
    active: list[tuple[Job, list[Lane]]] = []
    for job in jobs:
        first = next(job.procedure, None)
        if first is not None:
            active.append((job, first))
    while active:
        active.sort(key=lambda item: -item[0].seconds * max(1, expected_asks - item[0].asks))
        plan = _plan(active, lanes_at_once, apart, length)
        lanes: list[Lane] = []
        slices: list[slice] = []
        ends = {index: delay + length(active[index][1]) for index, delay in plan}
        spare = {index for index, end in ends.items() if end < SLACK * max(ends.values())}
        plan.sort(key=lambda item: item[0] in spare)  # stable: the asks it waits for first
        for group, (index, delay) in enumerate(plan):
            asked = active[index][1]
            begin = len(lanes)
            # Each ask's lanes share a start of their own: an ask never waits for the forks
            # and set-ups of the round's other lanes, only its own.
            lanes += [replace(lane, at=tuple(at + delay for at in lane.at), group=group,
                              held=index in spare)
                      for lane in _renumbered(asked, sum(1 for lane in lanes if lane.worker))]
            slices.append(slice(begin, len(lanes)))
        outcome = trials.run_concurrent(lanes, workers=workers)
        finished: set[int] = set()
        for (index, delay), part in zip(plan, slices, strict=True):
            job = active[index][0]
            job.asks += 1
            ran = [replace(lane, at=asked.at, group=asked.group, held=asked.held)
                   for lane, asked in zip(lanes[part], active[index][1], strict=True)]
            try:
                active[index] = (job, job.procedure.send(Ran(outcome, ran, delay)))
            except StopIteration:
                finished.add(index)
        active = [item for index, item in enumerate(active) if index not in finished]


def _plan(active: Sequence[tuple[Job, list[Lane]]], lanes_at_once: int, apart: Apart,
          length: Callable[[Sequence[Lane]], float]) -> list[tuple[int, float]]:
    """Which asks run this round and when each starts: (index in ``active``, delay). Each of
    ``lanes_at_once`` slots is free again once its ask is expected to end; an ask starts when
    enough slots are free, at once, or later when it still ends before the round does."""
    free = [0.0] * lanes_at_once  # per slot: when it is free again
    end = 0.0
    plan: list[tuple[int, float]] = []
    taken: list[frozenset[str]] = []
    for index, (_, asked) in enumerate(active):
        tests = frozenset(t for lane in asked for t in lane.tests)
        if not all(apart(tests, other) for other in taken):
            continue
        slots = sorted(range(len(free)), key=free.__getitem__)[:len(asked)]
        if len(slots) < len(asked) and plan:
            continue
        start = max((free[slot] for slot in slots), default=0.0)
        seconds = length(asked)
        if plan and start > 0.0 and start + seconds > end:
            continue
        for slot in slots:
            free[slot] = start + seconds
        end = max(end, start + seconds)
        plan.append((index, start))
        taken.append(tests)
    return plan


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
