"""Provoke and prove: a candidate pair replayed side by side, each test in a process of its own
(a lane, as a concurrent bisect replay), with their starts forced to overlap.

A pair is first *screened*: a few concurrent replays, each starting the two at a different
offset (together; the second halfway through the first; the other way round; and, when one
of them leaves data behind, the other just after it ends), twice over, stopping at the first
in which one of them fails. A test that failed is then *verified* by the stated rule of
``model/confidence.py``: fresh replays beside the other test at the offset that failed (it need
not fail every time) and runs of it alone (it must pass every time), until the rule decides
either way. When both tests of a pair failed, one replay beside the other counts for both.
When the test verified is not confirmed but the other one failed in its replays beside it (a
race that turned), the other one is verified next, on replays of its own.
A test's runs alone are shared by every pair it is a victim in. Only a confirmed collision is
a finding; a pair that never failed is "shared, not seen to collide".

Every step is one ask of a procedure (a generator); ``rounds.py`` runs the asks of pairs that
share nothing side by side in one trial.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from isoscan.audit.candidates import can_meet
from isoscan.audit.model import Candidate, PairStatus
from isoscan.audit.rounds import Job, Procedure, Ran, run_rounds
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

VERIFY_CAP = 8  # replays beside the culprit at most while the rule is undecided
GAP = 0.05  # seconds between one test's end and the other's start, for a leftover
# Times the screening goes through its offsets before a pair counts as "not seen to collide":
# a machine under load shifts a test by more than the width of many real windows.
SCREEN_ROUNDS = 2
# A lane's expected length: the map run's durations times this, plus a process's start.
LENGTH_MARGIN = 1.3
START_SECONDS = 0.15


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
    """The offsets a pair is screened at, from the tests' durations in the map run, the one
    most likely to fail every time first: a collision found at a racy offset fails only some
    of the time, and its verification takes more replays. When one test is less than half as
    long as the other, it starts centred in the other: whatever it does lands inside the
    other's window with the widest margin either side. Otherwise each starts halfway through
    the other, one clearly first; started together (a race of their first statements) comes
    last."""
    together = Timing(0.0, 0.0, "started together")
    if second < first / 2:
        found = [Timing(0.0, (first - second) / 2, "the second started centred in the first"),
                 together,
                 Timing(second / 2, 0.0, "the first started halfway through the second")]
    elif first < second / 2:
        found = [Timing((second - first) / 2, 0.0, "the first started centred in the second"),
                 together,
                 Timing(0.0, first / 2, "the second started halfway through the first")]
    else:
        found = [Timing(0.0, first / 2, "the second started halfway through the first"),
                 Timing(second / 2, 0.0, "the first started halfway through the second"),
                 together]
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
                 context: Mapping[str, Sequence[str]] | None = None, *,
                 workers: int = 2) -> None:
        self.trials = trials
        self.suite = suite
        self.store_dir = store_dir
        self.touched = touched
        self.durations = durations
        self.passed = passed  # passed in the map run: only such a test can be a victim
        self.rule = Rule(rule.confidence, VERIFY_CAP)
        self.step = step
        self.workers = workers  # lanes at once, each standing for one xdist worker
        self.results: list[BisectResult] = []
        self.alone: dict[str, list[bool]] = {}  # runs alone so far, shared by every pair
        # Per test, the tests of its class before it: they run first in its lane, so a
        # class-scoped fixture spans them as it does in a real run (its teardown, in the
        # class's last test, comes after them).
        self.context = context or {}
        self._meets: dict[frozenset[str], bool] = {}

    def lane_of(self, nodeid: str) -> tuple[str, ...]:
        return (*self.context.get(nodeid, ()), nodeid)

    def duration(self, nodeid: str) -> float:
        return sum(self.durations.get(t, 0.0) for t in self.lane_of(nodeid))

    def lanes(self, first: str, second: str, timing: Timing) -> list[Lane]:
        one, two = self.lane_of(first), self.lane_of(second)
        return [Lane(one, tuple(timing.first_at for _ in one), "gw0"),
                Lane(two, tuple(timing.second_at for _ in two), "gw1")]

    def prove_all(self, candidates: Sequence[Candidate]) -> None:
        """Every candidate to its verdict, independent ones side by side (``rounds.py``);
        ``results`` in the candidates' order."""
        jobs = [Job(self.procedure(c), max(self.duration(c.first), self.duration(c.second)))
                for c in candidates]
        try:
            run_rounds(self.trials, jobs, self.workers, self.apart, self.workers,
                       sum(self.rule.needed()), self.length)
        finally:
            rank = {(c.first, c.second): i for i, c in enumerate(candidates)}
            self.results.sort(key=lambda r: min(
                rank.get((r.victim, r.polluters[0][0]), len(rank)),
                rank.get((r.polluters[0][0], r.victim), len(rank))))

    def length(self, lanes: Sequence[Lane]) -> float:
        """How long ``lanes`` should run, from the map run's durations, with a margin for a
        lane's start and a busy machine (a later ask packed into a round by it only makes
        the round longer when it is wrong)."""
        return max((max(lane.at, default=0.0) + sum(self.durations.get(t, 0.0)
                                                    for t in lane.tests)
                    for lane in lanes), default=0.0) * LENGTH_MARGIN + START_SECONDS

    def apart(self, first: frozenset[str], second: frozenset[str]) -> bool:
        """Whether no test of ``first`` can meet one of ``second``: none is in both, and no
        two share a resource one of them changes (what would make them a candidate pair)."""
        if first & second:
            return False
        for a in first:
            for b in second:
                key = frozenset((a, b))
                meets = self._meets.get(key)
                if meets is None:
                    meets = can_meet(self.touched.get(a, ()), self.touched.get(b, ()))
                    self._meets[key] = meets
                if meets:
                    return False
        return True

    def procedure(self, candidate: Candidate) -> Procedure:
        a, b = candidate.first, candidate.second
        leaves = any(r.access is Access.LEAVE for t in (a, b) for r in self.touched.get(t, ()))
        schedule = timings(self.duration(a), self.duration(b), leaves) * SCREEN_ROUNDS
        for timing in schedule:
            ran = yield self.lanes(a, b, timing)
            candidate.replays += 1
            failed = [t for t in (a, b)
                      if self.passed(t) and ran.outcome.outcome_of(t).is_failure]
            if failed:
                break
        else:
            candidate.status = PairStatus.SHARED
            self._finished(candidate)
            return
        # One proven direction proves the pair: when both failed, the second is verified
        # only if the first is not confirmed (and is named as failing beside it too). A
        # race (the pair's two tests bind one port: whichever is first wins) can fail one
        # in the screening and the other in every replay after it: a test that failed in
        # the first one's replays is verified next, on replays of its own.
        queue = list(failed)
        tried: list[str] = []
        while queue:
            victim = queue.pop(0)
            tried.append(victim)
            culprit = b if victim == a else a
            check = _Check(victim, culprit, Confirmation(self.rule, every_time=False))
            if victim in failed:
                check.confirmation.add(Side.ORDER, True)  # the screening replay that failed
            began = time.monotonic()
            yield from self._verify(candidate, check, ran)
            if check.confirmation.decision is Decision.CONFIRMED:
                result = self._answer(check, candidate.shared, ran, timing,
                                      time.monotonic() - began)
                if culprit in tried:
                    result.note += f"; {culprit} failed beside it in the screening, not " \
                                   "confirmed"
                elif culprit in failed:
                    result.note += f"; {culprit} failed beside it too (not verified: one " \
                                   "direction proves the pair)"
                self.results.append(result)
                candidate.status = PairStatus.COLLIDES
                break
            if check.culprit_failed and culprit not in tried and culprit not in queue:
                queue.append(culprit)
        else:
            candidate.status = PairStatus.UNSETTLED
        self._finished(candidate)

    def _verify(self, candidate: Candidate, check: _Check, first: Ran) -> Procedure:
        """Replays by the check's schedule until the rule decides either way; runs alone
        come from the victim's earlier runs alone first (of this pair or another)."""
        beside = [replace(lane, worker=f"gw{i}") for i, lane in enumerate(first.lanes)]
        confirmation = check.confirmation
        while confirmation.decision is Decision.PENDING:
            if self._take_earlier_alone(check):
                continue
            if confirmation.next_side() is Side.ORDER:
                ran = yield beside
                confirmation.add(Side.ORDER, ran.outcome.outcome_of(check.victim).is_failure)
                if self.passed(check.culprit) and \
                        ran.outcome.outcome_of(check.culprit).is_failure:
                    check.culprit_failed += 1
            else:
                lane = self.lane_of(check.victim)
                ran = yield [Lane(lane, tuple(0.0 for _ in lane))]
                self.alone.setdefault(check.victim, []).append(
                    not ran.outcome.outcome_of(check.victim).is_failure)
            candidate.replays += 1

    def _take_earlier_alone(self, check: _Check) -> bool:
        """Feeds the check the victim's runs alone it has not counted yet; whether any was."""
        runs = self.alone.get(check.victim, [])
        confirmation = check.confirmation
        took = False
        while confirmation.decision is Decision.PENDING and \
                confirmation.next_side() is Side.ALONE and check.used < len(runs):
            confirmation.add(Side.ALONE, runs[check.used])
            check.used += 1
            took = True
        return took

    def _finished(self, candidate: Candidate) -> None:
        self.step(f"{candidate.first} × {candidate.second}: {candidate.status.value} "
                  f"({candidate.replays} replays)")

    def _answer(self, check: _Check, shared: list[Shared], first: Ran, timing: Timing,
                seconds: float) -> BisectResult:
        victim, culprit, confirmation = check.victim, check.culprit, check.confirmation
        times = first.outcome.times
        mechanism = Mechanism.COLLISION
        victim_start = times.get(victim, (0.0, None))[0]
        culprit_end = times.get(culprit, (0.0, None))[1]
        if culprit_end is not None and culprit_end <= victim_start:
            mechanism = Mechanism.LEFTOVER
        failed, tries = confirmation.misbehaved, confirmation.order_runs
        lanes = [replace(lane, worker=f"gw{i}") for i, lane in enumerate(first.lanes)]
        answer = ParallelAnswer(mechanism, rule=rule_text(self.rule), candidates=1,
                                replays=tries + confirmation.alone_runs)
        answer.workers = {culprit: next(lane.worker for lane in lanes if culprit in lane.tests)}
        found = sorted(shared, key=lambda s: s.first_access is not Access.WRITE)
        for s in found:
            answer.shared.append(SharedResource(
                culprit, s.label or s.kind.value, s.name, s.first_access.value,
                s.second_access.value, describe_shared(s, self.suite.cwd)))
        answer.hints = fix_hints(found)
        answer.checks = [ReplayTally(f"beside {culprit} ({timing.label})", failed, tries),
                         ReplayTally("alone", confirmation.alone_runs - confirmation.behaved,
                                     confirmation.alone_runs)]
        answer.reproduced = answer.checks[0]
        answer.confirmation = confirmation
        lanes_file = _repro_path(self.store_dir, victim, culprit)
        save_lanes(lanes_file, self.suite, victim, None, lanes)
        answer.lanes_file = lanes_file
        result = BisectResult(victim, BisectKind.PARALLEL_ONLY, polluters=[[culprit]],
                              trials=answer.replays, seconds=seconds,
                              source="isoscan audit: forced overlap of a candidate pair "
                              f"({timing.label})", parallel=answer)
        result.reproduce = f"isoscan replay {_relative(lanes_file, self.suite.cwd)}"
        result.note = (f"fails beside {culprit} {failed} of {tries}, passes alone "
                       f"{confirmation.behaved} of {confirmation.alone_runs}")
        return result


@dataclass
class _Check:
    """The stated rule for one victim of a pair beside its culprit."""

    victim: str
    culprit: str
    confirmation: Confirmation
    used: int = 0  # the victim's shared runs alone counted so far
    culprit_failed: int = 0  # replays beside the victim in which the culprit failed


def _repro_path(store_dir: Path, victim: str, culprit: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", victim.rsplit("::", 1)[-1])[:60]
    digest = hashlib.sha1(f"{victim}\0{culprit}".encode()).hexdigest()[:8]
    return store_dir / "repro" / f"audit-{slug}-{digest}.lanes.json"


def _relative(path: Path, cwd: Path) -> Path:
    try:
        return path.resolve().relative_to(cwd.resolve())
    except ValueError:
        return path
