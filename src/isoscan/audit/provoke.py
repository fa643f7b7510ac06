"""Provoke and prove: a candidate pair replayed side by side, each test in a process of its own
(a lane, as a concurrent bisect replay), with their starts forced to overlap.

A pair is first *screened*: a few concurrent replays, each starting the two at a different
offset (together; the second halfway through the first; the other way round; and, when one
of them leaves data behind, the other just after it ends), twice over, stopping at the first
in which one of them fails. A test that failed is then *verified* by the stated rule of
``model/confidence.py``: fresh replays beside the other test at the offset that failed (it need
not fail every time) and runs of it alone (it must pass every time), until the bound is within
``1 - confidence``. Only a confirmed collision is a finding; a pair that never failed is
"shared, not seen to collide".
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from isoscan.audit.model import Candidate, PairStatus
from isoscan.bisect.parallel import save_lanes
from isoscan.execution.argv import Suite
from isoscan.model.answer import (
    BisectKind,
    BisectResult,
    Mechanism,
    ParallelAnswer,
    ReplayTally,
    SharedResource,
)
from isoscan.model.confidence import Confirmation, Decision, Rule, Side
from isoscan.resources import Access, Resource, Shared, describe_shared, fix_hints
from isoscan.trials.base import TrialRunner
from isoscan.trials.lanes import Lane
from isoscan.trials.outcome import TrialOutcome

VERIFY_CAP = 8  # replays beside the culprit at most while the rule is undecided
GAP = 0.05  # seconds between one test's end and the other's start, for a leftover
# Times the screening goes through its offsets before a pair counts as "not seen to collide":
# a machine under load shifts a test by more than the width of many real windows.
SCREEN_ROUNDS = 2


def rule_text(rule: Rule) -> str:
    return (f"a pair collides when one of them fails in a replay beside the other, each in a "
            f"process of its own with their starts forced to overlap, and the stated rule "
            f"confirms it: replays beside the other (it need not fail every time) and runs "
            f"alone (it must pass every time) until twice the largest chance that a test "
            f"failing at random gives the same results is at most {rule.alpha:.2g} "
            f"(confidence {rule.confidence:g}; at most {VERIFY_CAP} beside it)")


@dataclass(frozen=True)
class Timing:
    """When each test of a pair starts, in seconds from the lanes' common start."""

    first_at: float
    second_at: float
    label: str


def timings(first: float, second: float, leaves: bool) -> list[Timing]:
    """The offsets a pair is screened at, from the tests' durations in the map run."""
    found = [Timing(0.0, 0.0, "started together"),
             Timing(0.0, first / 2, "the second started halfway through the first"),
             Timing(second / 2, 0.0, "the first started halfway through the second")]
    if leaves:
        found += [Timing(0.0, first + GAP, "the second started as the first ended"),
                  Timing(second + GAP, 0.0, "the first started as the second ended")]
    return found


class Prover:
    """Screens candidate pairs and verifies what fails; ``results`` are the confirmed
    collisions, one per (victim, culprit), in the form of a parallel-only bisect answer."""

    def __init__(self, trials: TrialRunner, suite: Suite, store_dir: Path,
                 touched: Mapping[str, Sequence[Resource]], durations: Mapping[str, float],
                 passed: Callable[[str], bool], rule: Rule,
                 step: Callable[[str], None],
                 context: Mapping[str, Sequence[str]] | None = None) -> None:
        self.trials = trials
        self.suite = suite
        self.store_dir = store_dir
        self.touched = touched
        self.durations = durations
        self.passed = passed  # passed in the map run: only such a test can be a victim
        self.rule = Rule(rule.confidence, VERIFY_CAP)
        self.step = step
        self.results: list[BisectResult] = []
        self.alone: dict[str, list[bool]] = {}  # runs alone so far, shared by every pair
        # Per test, the tests of its class before it: they run first in its lane, so a
        # class-scoped fixture spans them as it does in a real run (its teardown, in the
        # class's last test, comes after them).
        self.context = context or {}

    def lane_of(self, nodeid: str) -> tuple[str, ...]:
        return (*self.context.get(nodeid, ()), nodeid)

    def duration(self, nodeid: str) -> float:
        return sum(self.durations.get(t, 0.0) for t in self.lane_of(nodeid))

    def lanes(self, first: str, second: str, timing: Timing) -> list[Lane]:
        one, two = self.lane_of(first), self.lane_of(second)
        return [Lane(one, tuple(timing.first_at for _ in one), "gw0"),
                Lane(two, tuple(timing.second_at for _ in two), "gw1")]

    def prove(self, candidate: Candidate) -> None:
        a, b = candidate.first, candidate.second
        leaves = any(r.access is Access.LEAVE for t in (a, b) for r in self.touched.get(t, ()))
        start = self.trials.count
        unsettled = False
        schedule = timings(self.duration(a), self.duration(b), leaves) * SCREEN_ROUNDS
        for timing in schedule:
            lanes = self.lanes(a, b, timing)
            outcome = self.trials.run_concurrent(lanes)
            failed = [t for t in (a, b) if self.passed(t) and outcome.outcome_of(t).is_failure]
            if not failed:
                continue
            for victim in failed:
                culprit = b if victim == a else a
                result = self._verify(victim, culprit, candidate.shared, lanes, timing,
                                      outcome)
                if result is not None:
                    self.results.append(result)
                else:
                    unsettled = True
            break
        candidate.replays = self.trials.count - start
        if any(r.victim in (a, b) and r.polluters == [[b if r.victim == a else a]]
               for r in self.results):
            candidate.status = PairStatus.COLLIDES
        else:
            candidate.status = PairStatus.UNSETTLED if unsettled else PairStatus.SHARED
        self.step(f"{a} × {b}: {candidate.status.value} ({candidate.replays} replays)")

    def _verify(self, victim: str, culprit: str, shared: list[Shared], lanes: list[Lane],
                timing: Timing, first: TrialOutcome) -> BisectResult | None:
        # Runs alone from an earlier pair of this victim count; one that failed alone then
        # is not a collision now either.
        earlier = self.alone.get(victim, [])
        if not all(earlier):
            return None
        check = Confirmation(self.rule, every_time=False, behaved=len(earlier))
        check.add(Side.ORDER, True)  # the screening replay that failed
        tallies = {"beside": [1, 1]}

        def beside() -> bool:
            failed = self.trials.run_concurrent(lanes).outcome_of(victim).is_failure
            tallies["beside"][0] += failed
            tallies["beside"][1] += 1
            return failed

        def alone() -> bool:
            passed = not self.trials.run(self.lane_of(victim)).outcome_of(victim).is_failure
            self.alone.setdefault(victim, []).append(passed)
            return passed

        started = self.trials.count
        began = time.monotonic()
        check.settle(beside, alone)
        if check.decision is not Decision.CONFIRMED:
            return None
        times = first.times
        mechanism = Mechanism.COLLISION
        victim_start = times.get(victim, (0.0, None))[0]
        culprit_end = times.get(culprit, (0.0, None))[1]
        if culprit_end is not None and culprit_end <= victim_start:
            mechanism = Mechanism.LEFTOVER
        failed, tries = tallies["beside"]
        answer = ParallelAnswer(mechanism, rule=rule_text(self.rule), candidates=1,
                                replays=self.trials.count - started + 1)
        answer.workers = {culprit: next(lane.worker for lane in lanes if culprit in lane.tests)}
        found = sorted(shared, key=lambda s: s.first_access is not Access.WRITE)
        for s in found:
            answer.shared.append(SharedResource(
                culprit, s.label or s.kind.value, s.name, s.first_access.value,
                s.second_access.value, describe_shared(s, self.suite.cwd)))
        answer.hints = fix_hints(found)
        answer.checks = [ReplayTally(f"beside {culprit} ({timing.label})", failed, tries),
                         ReplayTally("alone", check.alone_runs - check.behaved,
                                     check.alone_runs)]
        answer.reproduced = answer.checks[0]
        answer.confirmation = check
        lanes_file = _repro_path(self.store_dir, victim, culprit)
        save_lanes(lanes_file, self.suite, victim, None, lanes)
        answer.lanes_file = lanes_file
        result = BisectResult(victim, BisectKind.PARALLEL_ONLY, polluters=[[culprit]],
                              trials=answer.replays, seconds=time.monotonic() - began,
                              source="isoscan audit: forced overlap of a candidate pair "
                              f"({timing.label})", parallel=answer)
        result.reproduce = f"isoscan replay {_relative(lanes_file, self.suite.cwd)}"
        result.note = (f"fails beside {culprit} {failed} of {tries}, passes alone "
                       f"{check.behaved} of {check.alone_runs}")
        return result


def _repro_path(store_dir: Path, victim: str, culprit: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", victim.rsplit("::", 1)[-1])[:60]
    digest = hashlib.sha1(f"{victim}\0{culprit}".encode()).hexdigest()[:8]
    return store_dir / "repro" / f"audit-{slug}-{digest}.lanes.json"


def _relative(path: Path, cwd: Path) -> Path:
    try:
        return path.resolve().relative_to(cwd.resolve())
    except ValueError:
        return path
