"""Parallel-only victims: which test on another xdist worker breaks one, and through what.

A victim that failed under xdist and passes when its own worker's order is replayed serially
was broken by a test on another worker, in one of two ways:

- a **leftover**: that test ran earlier and left state behind (rows, files). Replaying every
  worker's tests serially, merged by their recorded start times, reproduces it; it is then
  bisected like any order dependence (``workflow.py``).
- a **collision**: both must run at the same moment. Only a concurrent replay reproduces it:
  the victim in one process, each other worker's tests in a process of their own ("lanes"),
  every test started at its recorded offset from the victim. This module shrinks the tests
  that ran beside the victim to the minimal set that still makes it fail.

Timing is noisy, so every question is a batch of concurrent replays judged by one stated rule
(``rule_text``): a search question ends at the first failure, or after ``TRIES`` replays
without one; a culprit set is verified by the sequential rule of ``model/confidence.py`` over
replays beside it and replays with nothing beside it. A victim that cannot be made to fail
that way is reported as such and no test is blamed. What the culprits and the victim share
comes from the resources each test touched in those replays (``isoscan.resources``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from isoscan.bisect.probe import BisectObserver, Inconclusive
from isoscan.bisect.timeline import Timeline, body_of
from isoscan.execution.argv import Suite
from isoscan.model.answer import (
    BisectKind,
    BisectResult,
    Mechanism,
    ParallelAnswer,
    ReplayTally,
    SharedResource,
)
from isoscan.model.confidence import Confirmation, Decision, Rule
from isoscan.model.outcomes import Outcome
from isoscan.resources import Resource, Shared, describe_shared, fix_hints, shared_resources
from isoscan.search.shrink import MAX_SETS, Shrinker
from isoscan.trials.base import TrialRunner
from isoscan.trials.lanes import Lane
from isoscan.trials.outcome import TrialOutcome

TRIES = 4  # concurrent replays per search question at most (it ends at the first failure)
VERIFY_CAP = 2 * TRIES  # replays beside a culprit set at most while the rule is undecided
# Before giving up: the victim beside each of the first suspects by the resource map alone,
# with that suspect's recorded offset moved by these seconds (one replay each, nearest first).
SHIFTS = (-0.05, 0.05, -0.2, 0.2, -0.5, 0.5)
SWEPT = 4  # suspects swept that way at most: sharing a resource with the victim, then nearest


def rule_text(rule: Rule) -> str:
    return (f"a set of tests collides with the victim when it fails in a concurrent replay "
            f"beside them (at most {TRIES} per question, ending at the first failure); a "
            f"culprit set is verified by replays beside it, where the victim need not fail "
            f"every time, and with nothing beside it, until twice the largest chance that a "
            f"victim failing at random gives the same results is at most {rule.alpha:.2g} "
            f"(confidence {rule.confidence:g}; at most {VERIFY_CAP} beside it; the replays "
            f"of a question about the suspect the resource map ranks first, asked alone before "
            f"any result beside it was seen, count); a set of several keeps each test only when "
            f"the same rule tells the set from the set without it, where the victim must pass "
            f"every time, and drops a test that shares nothing with the victim by the "
            f"resource map beside a single one that does, when that one, swept as below, is "
            f"verified at the first offset it fails (the other only shifted its timing); the "
            f"victim must "
            f"also pass {TRIES} of {TRIES} beside every other suspect, and every replay with "
            f"nothing beside it, before and after the search. Each test is held back until its "
            f"body's recorded moment (its session and module fixtures are set up before). When "
            f"the replays beside all suspects pass, the victim is replayed beside each of the "
            f"first {SWEPT} suspects by the resource map (sharing a resource with it first, "
            f"then the nearest) alone, its offset moved by "
            f"{', '.join(f'{x:+g}' for x in SHIFTS)} s, once each; the first that fails is "
            f"verified by the same rule at that offset; when none fails, no test is blamed. A "
            f"single culprit the rule cannot settle at the recorded offset (it failed beside it, "
            f"too rarely) is swept the same way, and verified anew at the first offset it fails")


RULE = rule_text(Rule())
LANES_SCHEMA = "isoscan.lanes/1"


class CollisionSearch:
    """Concurrent replays of the victim beside subsets of its suspects."""

    def __init__(self, trials: TrialRunner, line: Timeline, seed: int | None,
                 observer: BisectObserver, rule: Rule | None = None) -> None:
        self.trials = trials
        self.line = line
        self.seed = seed
        self.observer = observer
        self.rule = Rule((rule or Rule()).confidence, VERIFY_CAP)
        self.quiet_passes = 0  # replays with nothing beside it, all passed: the rule's alone side
        self.stopped_early = False  # the victim was stopped at its early bound in a replay
        suspects = line.beside()
        self.suspects = list(dict.fromkeys(e.nodeid for e in suspects))
        own = [e for e in line.own_before() if e.nodeid not in self.suspects]
        # In the victim's lane before it, never blamed (unless ``without_context`` drops them).
        self.context = [e.nodeid for e in own]
        # Offsets between bodies, as the Pacer holds them back: what a lane must set up
        # first (a session fixture its recorded worker had set up long before) is no part.
        victim_body = line.body if line.body is not None else line.started
        self.offsets = {e.nodeid: body_of(e) - victim_body for e in [*suspects, *own]}
        self.shift: dict[str, float] = {}  # a swept suspect's offset moved (``sweep``)
        self._normalise()
        self.worker = {e.nodeid: e.worker for e in suspects}
        self.overlapping = {e.nodeid for e in suspects
                            if e.finished is None or e.finished > line.started}
        self.touched: dict[str, set[Resource]] = {}
        # Suspect sets (with their offsets' shifts) it passed every replay beside.
        self.passed: dict[frozenset[tuple[str, float]], ReplayTally] = {}

    def _normalise(self) -> None:
        """Every lane starts at the earliest test: offsets stay as recorded, never negative."""
        offsets = {t: o + self.shift.get(t, 0.0) for t, o in self.offsets.items()}
        base = min([0.0, *offsets.values()])
        self.at = {nodeid: offset - base for nodeid, offset in offsets.items()}
        self.victim_at = -base

    def without_context(self) -> ReplayTally | None:
        """One replay beside all suspects without the victim's own worker's earlier tests:
        when it fails, they are not needed to reproduce the collision and every later replay
        leaves them out (each replay is then as long as the victim and its suspects, not the
        second of its worker's tests before it); when it passes, they stay. Returns the
        replay as the search's first question beside all suspects, or None."""
        context, self.context = self.context, []
        what = f"beside all {len(self.suspects)} suspects"
        if self.fails(self.suspects):
            self.observer.step(self.trials.count, f"concurrent replay {what}, without its "
                               f"worker's {len(context)} earlier tests: failed; they are "
                               f"left out of every replay")
            return ReplayTally(what, 1, 1)
        self.context = context
        self.observer.step(self.trials.count, f"concurrent replay {what}, without its "
                           f"worker's {len(context)} earlier tests: passed; they stay")
        return None

    def sweep(self) -> str | None:
        """Before giving up: the victim beside each of the ``SWEPT`` suspects first in the
        resource map's ranking (``ranked``: those sharing a resource with it, then the
        nearest), alone, that suspect's offset moved by each of ``SHIFTS``
        (timing on this machine need not be the recorded run's). The first suspect the
        victim fails beside is returned, its shift kept for the rest of the search."""
        for suspect in self.ranked(self.suspects)[:SWEPT]:
            if self.moved(suspect):
                return suspect
        return None

    def moved(self, suspect: str) -> bool:
        """The victim beside ``suspect`` alone, its offset moved by each of ``SHIFTS``, once
        each, until it fails: that shift is kept (True); none failing, the recorded offsets
        stand (False). Also for a culprit the verification at the recorded offset could not
        settle: two tests whose bodies began within milliseconds of each other, where
        which one fails depends on which goes first, collide every time a little apart."""
        for shift in SHIFTS:
            self.shift = {suspect: shift}
            self._normalise()
            failed = self.fails([suspect])
            self.observer.step(self.trials.count, f"concurrent replay beside {suspect} "
                               f"moved {shift:+g}s: {'failed' if failed else 'passed'}")
            if failed:
                return True
        self.shift = {}
        self._normalise()
        return False

    def lanes(self, subset: Iterable[str]) -> list[Lane]:
        """The victim's lane, then one lane per other worker with its chosen tests. The
        earliest test of this replay starts at once: the offsets between them stay as
        recorded, and no lane waits for a suspect left out (a replay with nothing beside the
        victim would otherwise wait up to ``WINDOW`` seconds for nothing)."""
        chosen = sorted(set(subset), key=self.at.__getitem__)
        base = min([self.victim_at, *(self.at[t] for t in (*self.context, *chosen))])
        mine = (*self.context, self.line.victim)
        lanes = [Lane(mine, (*(self.at[t] - base for t in self.context), self.victim_at - base),
                      self.line.worker)]
        by_worker: dict[str, list[str]] = {}
        for nodeid in chosen:
            by_worker.setdefault(self.worker[nodeid], []).append(nodeid)
        for worker, tests in sorted(by_worker.items()):
            lanes.append(Lane(tuple(tests), tuple(self.at[t] - base for t in tests), worker))
        return lanes

    def tally(self, subset: Sequence[str], what: str) -> ReplayTally:
        """Up to ``TRIES`` concurrent replays; the first failure ends it. A set of suspects
        the victim already passed ``TRIES`` of ``TRIES`` beside (at the same offsets) is not
        asked again: the search's halves and the final check beside the other suspects are
        often the same set, and those replays are the evidence either way."""
        key = frozenset((t, self.shift.get(t, 0.0)) for t in subset)
        known = self.passed.get(key) if subset else None
        if known is not None:
            self.observer.step(self.trials.count, f"concurrent replay {what}: passed "
                               f"{known.tries} of {known.tries} before, not asked again")
            return ReplayTally(what, known.failed, known.tries)
        failed = tries = 0
        for _ in range(TRIES):
            tries += 1
            if self.fails(subset):
                failed += 1
                break
        if not subset and not failed:
            self.quiet_passes += tries
        tally = ReplayTally(what, failed, tries)
        if subset and not failed:
            self.passed[key] = tally
        self.observer.step(self.trials.count, f"concurrent replay {what}: "
                           f"failed {failed} of {tries}")
        return tally

    def fails(self, subset: Sequence[str], *, full: bool = False) -> bool:
        """One concurrent replay beside ``subset``: whether the victim failed. ``full``: with
        the victim's whole --timeout, not its early bound."""
        victim = self.line.victim
        outcome = self.trials.run_concurrent(self.lanes(subset), self.seed,
                                             full_timeout=[victim] if full else (),
                                             workers=self.line.workers())
        self._remember(outcome)
        result = outcome.outcome_of(victim)
        if not result.ran:
            where = f"replaying it beside {_count(subset)}" if subset else \
                "replaying it with nothing beside it"
            why = outcome.not_run(victim, where)
            raise Inconclusive(why.describe(), why)
        self.stopped_early |= result is Outcome.TIMEOUT_EARLY
        return result.is_failure

    def verify(self, culprits: Sequence[str], first: ReplayTally | None = None
               ) -> tuple[list[str], Confirmation]:
        """The stated rule over replays beside ``culprits`` (the victim need not fail every
        time) and with nothing beside it (it must pass every time), counting the replays with
        nothing beside it made so far. ``first``: replays beside exactly these culprits asked
        before any result beside them was seen (the resource map's question, ``likely``):
        they are the rule's first results on that side, not a selection by outcome. A
        confirmed set of several keeps each test only when the rule also tells the set from
        the set without it (``needed``); one it cannot is a rider, and the set without it is
        verified instead. Returns the set verified."""
        check = Confirmation(self.rule, every_time=False, behaved=self.quiet_passes,
                             misbehaved=first.failed if first else 0,
                             noise=first.tries - first.failed if first else 0)
        check.settle(lambda: self.fails(culprits), lambda: not self.fails([]))
        self.quiet_passes = check.behaved
        self.observer.step(self.trials.count, f"concurrent replays beside {_count(culprits)} "
                           f"(verification): failed {check.misbehaved} of {check.order_runs}; "
                           f"{check.summary()}")
        if check.decision is Decision.CONFIRMED and len(culprits) > 1:
            for member in culprits:
                rest = [t for t in culprits if t != member]
                if not self.needed(member, culprits, rest, check):
                    return self.verify(rest)
                timed = self.only_timing(member, rest)
                if timed is not None:
                    return timed
        return list(culprits), check

    def only_timing(self, member: str, rest: Sequence[str]
                    ) -> tuple[list[str], Confirmation] | None:
        """A test the rule keeps in a set, but that shares nothing with the victim by the
        resource map, beside one that does: in its lane it may only delay the other (it runs
        past that one's recorded moment), making the collision more likely than at the
        recorded offsets. The other, swept alone (``moved``) and verified by the rule at the
        first offset it fails, is the answer then; the member is not blamed. None when the
        sweep finds no such offset or the rule does not confirm it there."""
        shares = self.shares()
        if len(rest) != 1 or self.shift or shares.get(member) or not shares.get(rest[0]):
            return None
        self.observer.step(self.trials.count, f"{member} shares nothing with the victim and "
                           f"{rest[0]} does: sweeping {rest[0]} alone, in case the other only "
                           f"shifts its timing")
        if not self.moved(rest[0]):
            return None
        culprits, check = self.verify(rest)
        if check.decision in (Decision.CONFIRMED, Decision.CONTRADICTED):
            return culprits, check
        self.shift = {}
        self._normalise()
        return None

    def needed(self, member: str, culprits: Sequence[str], rest: Sequence[str],
               confirmed: Confirmation) -> bool:
        """Whether ``member`` is part of the collision, by the same rule: its misbehaving
        side the replays beside the whole set (those of the verification count), its
        behaving side replays beside the set without ``member``, where the victim must pass
        every time. A search step misled by timing noise can keep an innocent test beside the
        real culprit; this is where it is dropped."""
        check = Confirmation(self.rule, every_time=False, misbehaved=confirmed.misbehaved,
                             noise=confirmed.noise)
        check.settle(lambda: self.fails(culprits), lambda: not self.fails(rest))
        needed = check.decision is Decision.CONFIRMED
        self.observer.step(self.trials.count, f"concurrent replays beside the set without "
                           f"{member}: {'it is needed' if needed else 'a rider, dropped'} "
                           f"({check.summary()})")
        return needed

    def ranked(self, suspects: Sequence[str]) -> list[str]:
        """``suspects`` by the resource map: those that share a resource with the victim (one
        of them writing, ``shared_resources``) first, the most shared first, then by how near
        their bodies began to the victim's. The map is what each test touched in the
        concurrent replays so far (every replay records it; the first one runs every suspect);
        a suspect it shows sharing nothing still takes part, last, as the map can be blind (a
        C client below Python's audit hooks)."""
        shares = self.shares()
        return sorted(suspects, key=lambda t: (-shares.get(t, 0), abs(self.offsets[t])))

    def shares(self) -> dict[str, int]:
        """Per suspect, how many resources the map shows it sharing with the victim."""
        mine = self.touched.get(self.line.victim, set())
        return {t: len(shared_resources(self.touched.get(t, set()), mine))
                for t in self.suspects}

    def likely(self, remaining: Sequence[str]) -> tuple[list[str], ReplayTally] | None:
        """The suspect the resource map ranks first among ``remaining``, alone, when it
        shares a resource with the victim and the victim collides with it: one question
        instead of a search, whose replays are the verification's first (``verify``). None
        otherwise (the search then starts from the map's order)."""
        if len(remaining) < 2:
            return None
        top = self.ranked(remaining)[0]
        if not self.shares().get(top):
            return None
        tally = self.tally([top], f"beside {top}")
        self.observer.step(self.trials.count, f"the resource map ranks {top} first: "
                           f"{'it collides' if tally.failed else 'no collision alone'}")
        return ([top], tally) if tally.failed else None

    def one_minimal(self, culprits: list[str]) -> list[str]:
        """Drops each test of a set that still collides without it. Timing noise can make
        both halves of a step look harmless, and the search then keeps a test from each
        half: this check keeps an innocent one from being blamed beside the real culprit."""
        for nodeid in list(culprits):
            rest = [t for t in culprits if t != nodeid]
            if len(culprits) > 1 and self.collides(rest):
                culprits = rest
        return culprits

    def collides(self, subset: Sequence[str]) -> bool:
        return self.tally(subset, f"beside {_count(subset)}").failed > 0

    def _remember(self, outcome: TrialOutcome) -> None:
        remember_touched(self.touched, outcome)


def find_collision(victim: str, line: Timeline, seed: int | None, trials: TrialRunner,
                   observer: BisectObserver, source: str, cwd: Path, rule: Rule | None = None
                   ) -> tuple[BisectResult, CollisionSearch]:
    """The minimal, verified sets of tests on other workers that the victim collides with."""
    search = CollisionSearch(trials, line, seed, observer, rule)
    first_trial = trials.count
    result = BisectResult(victim, BisectKind.PARALLEL_ONLY, source=source,
                          concurrent=search.suspects)
    answer = ParallelAnswer(Mechanism.COLLISION, rule=rule_text(search.rule),
                            candidates=len(search.suspects))
    if not search.suspects:
        result.note = ("no test ran on another worker while it ran (or in the second before); "
                       "nothing to blame")
        return result, search
    observer.step(trials.count, f"{len(search.suspects)} tests ran on other workers beside "
                  f"it; replaying them side by side with it")
    everything = search.without_context() if search.context else None
    nothing = search.tally([], "with nothing beside it")
    if nothing.failed:
        return _non_deterministic(result, search)
    if everything is None:
        everything = search.tally(search.suspects,
                                  f"beside all {len(search.suspects)} suspects")
    found: list[str] | None = None
    if not everything.failed:
        swept = search.sweep()
        if swept is None:
            result.note = (f"the collision could not be reproduced: it passed "
                           f"{everything.tries} of {everything.tries} concurrent replays beside "
                           f"the {len(search.suspects)} tests that ran beside it, and one beside "
                           f"each of the {min(SWEPT, len(search.suspects))} nearest alone at "
                           f"each of {len(SHIFTS)} offsets around the recorded one; no test "
                           f"is blamed")
            return result, search
        found = [swept]
    answer.checks.append(nothing)
    remaining = search.ranked(search.suspects)
    while remaining and len(result.polluters) < MAX_SETS:
        guess = None if found else search.likely(remaining)
        culprits = found or (guess[0] if guess else None) or search.one_minimal(
            Shrinker(remaining, search.collides).shrink(remaining, careful=True))
        found = None
        culprits, check = search.verify(culprits, guess[1] if guess else None)
        if (check.decision is Decision.CAPPED and len(culprits) == 1 and not search.shift
                and search.moved(culprits[0])):
            # It collides, but too rarely at the recorded offset for the rule: verified anew
            # at the offset where it failed (once per culprit set).
            culprits, check = search.verify(culprits)
        if check.decision is Decision.CONTRADICTED:
            return _non_deterministic(result, search)
        if check.decision is not Decision.CONFIRMED:
            break  # noise led the search astray: what is verified so far stands
        _accept(result, answer, culprits, check)
        remaining = [t for t in remaining if t not in culprits]
        if not remaining:
            break
        rest = search.tally(remaining, f"beside the other {_count(remaining)}")
        answer.checks.append(rest)
        if not rest.failed:
            break
        observer.step(trials.count, "the other suspects still collide: looking for "
                                     "another set")
    if not result.polluters and not search.shift:
        # The search followed failures the recorded offsets gave by chance (twins that began
        # within milliseconds: which one fails is a coin flip): before giving up, the sweep
        # that runs when nothing fails beside all suspects, then the rule on what it found.
        swept = search.sweep()
        if swept is not None:
            culprits, check = search.verify([swept])
            if check.decision is Decision.CONTRADICTED:
                return _non_deterministic(result, search)
            if check.decision is Decision.CONFIRMED:
                _accept(result, answer, culprits, check)
    if not result.polluters:
        result.note = ("no culprit set survived verification (timing noise); no test is "
                       "blamed")
        return result, search
    if search.stopped_early:  # the answer rests on a hang: once with its whole --timeout
        hung = search.fails(result.polluters[0], full=True)
        observer.step(trials.count, f"with its full --timeout beside them: "
                      f"{'failed' if hung else 'passed'}")
        if not hung:
            result.polluters = []
            result.note = ("it only ran past its early bound beside them (slow, not hung): "
                           "with the full --timeout it passes; no test is blamed")
            return result, search
    # Once more with nothing beside it: a victim that fails at random must not slip through
    # on one lucky first check; these replays count on the rule's alone side too.
    again = search.tally([], "with nothing beside it, again")
    answer.checks.append(again)
    if again.failed:
        return _non_deterministic(result, search)
    if answer.confirmation is not None:
        answer.confirmation.behaved = search.quiet_passes
    answer.workers = {t: search.worker[t] for s in result.polluters for t in s}
    answer.replays = trials.count - first_trial
    if not any(t in search.overlapping for s in result.polluters for t in s):
        # Every culprit had finished before the victim started: what it left behind broke
        # the victim, but only in that timing (the victim's process had set up first).
        answer.mechanism = Mechanism.LEFTOVER
        result.note = ("a leftover that breaks it only in this timing (a serial replay did "
                       "not): the culprits finished before it started, after its own worker "
                       "had set up")
    _add_shared(answer, result.polluters, victim, search.touched, cwd, line.worker)
    result.parallel = answer
    return result, search


def _non_deterministic(result: BisectResult, search: CollisionSearch
                       ) -> tuple[BisectResult, CollisionSearch]:
    result.kind = BisectKind.NON_DETERMINISTIC
    result.polluters = []
    result.note = ("it failed in a concurrent replay with nothing running beside it: "
                   "non-deterministic, not a collision; no test is blamed")
    return result, search


def leftover_answer(trials: TrialRunner, line: Timeline, sets: list[list[str]],
                    seed: int | None, cwd: Path) -> ParallelAnswer:
    """A leftover's answer: where each polluter ran, and what it shares with the victim, read
    from one more serial replay (a single lane) that records what each test touches."""
    answer = ParallelAnswer(Mechanism.LEFTOVER, candidates=len(line.merged_before()))
    answer.workers = {t: line.worker_of(t) for s in sets for t in s}
    order = [*sets[0], line.victim]
    outcome = trials.run_concurrent([Lane(tuple(order), tuple(0.0 for _ in order))], seed)
    touched: dict[str, set[Resource]] = {}
    remember_touched(touched, outcome)
    _add_shared(answer, sets, line.victim, touched, cwd, line.worker)
    return answer


def remember_touched(touched: dict[str, set[Resource]], outcome: TrialOutcome) -> None:
    """Adds what each test of a trial touched; an entry a newer or older isoscan wrote in a
    form this one cannot read is skipped."""
    for nodeid, entries in outcome.touched.items():
        seen = touched.setdefault(nodeid, set())
        for entry in entries:
            try:
                seen.add(Resource.from_json(entry))
            except ValueError:
                continue


def _add_shared(answer: ParallelAnswer, sets: list[list[str]], victim: str,
                touched: dict[str, set[Resource]], cwd: Path, victim_worker: str) -> None:
    """Each resource a culprit shares with the victim, once: culprits from other workers
    first, since they are the ones a user looks for."""
    mine = touched.get(victim, set())
    culprits = sorted(dict.fromkeys(t for s in sets for t in s),
                      key=lambda t: answer.workers.get(t) == victim_worker)
    found: list[Shared] = []
    for culprit in culprits:
        for shared in shared_resources(touched.get(culprit, set()), mine):
            if any((s.kind, s.label, s.name) == (shared.kind, shared.label, shared.name)
                   for s in found):
                continue
            found.append(shared)
            answer.shared.append(SharedResource(
                culprit, shared.label or shared.kind.value, shared.name,
                shared.first_access.value, shared.second_access.value,
                describe_shared(shared, cwd)))
    answer.hints = fix_hints(found) if found else []


def save_lanes(path: Path, suite: Suite, victim: str, seed: int | None,
               lanes: Sequence[Lane]) -> None:
    """The concurrent replay of an answer, for ``isoscan replay``."""
    body = {
        "schema": LANES_SCHEMA,
        "victim": victim,
        "seed": seed,
        "cwd": str(suite.cwd),
        "paths": list(suite.paths),
        "pytest_args": list(suite.pytest_args),
        "timeout": suite.timeout,
        "lanes": [{"worker": lane.worker, "tests": list(lane.tests), "at": list(lane.at)}
                  for lane in lanes],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _accept(result: BisectResult, answer: ParallelAnswer, culprits: list[str],
            check: Confirmation) -> None:
    """A culprit set the rule confirmed: into the answer, the first one as what reproduces."""
    verified = ReplayTally(f"beside {', '.join(culprits)}", check.misbehaved, check.order_runs)
    result.polluters.append(culprits)
    if answer.reproduced is None:
        answer.reproduced = verified
        answer.confirmation = check
    answer.checks.append(verified)


def _count(tests: Sequence[str]) -> str:
    return tests[0] if len(tests) == 1 else f"{len(tests)} suspects"
