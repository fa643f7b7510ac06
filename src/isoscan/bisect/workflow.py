"""``isoscan bisect`` as a library: from an order in which a victim failed to the minimal,
verified set of polluters (or state-setters for a brittle test), and cleaners on request.

Every pytest run is a trial; the answer is only given after it has been verified with fresh
trials, and a victim whose order does not reproduce is reported as such, never blamed.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from isoscan.bisect.import_time import OwnModuleCheck, in_own_module
from isoscan.bisect.parallel import find_collision, leftover_answer, save_lanes, timeline
from isoscan.bisect.probe import BisectObserver, Inconclusive, Probe
from isoscan.bisect.replay import replay_command
from isoscan.bisect.reproduction import check_order
from isoscan.bisect.search import Shrinker
from isoscan.bisect.starting_order import (
    StartingOrder,
    cold_starts,
    explicit_start,
    faults_left_out,
    other_xdist_failures,
)
from isoscan.execution.argv import Ordering, OrderingKind, Suite, reproduce_command
from isoscan.execution.collect import collect_ids, require_collected
from isoscan.execution.recorded_run import RecordedRun
from isoscan.execution.runner import write_order_file
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.model.confidence import Rule
from isoscan.model.imports import Alone
from isoscan.model.outcomes import Outcome
from isoscan.store.db import Store
from isoscan.store.recorded import import_recorded
from isoscan.trials.base import TrialRunner
from isoscan.trials.fork.protocol import ScanStop

Holds = Callable[[Sequence[str]], bool]


class Reproduction(str, Enum):
    """Whether a starting order makes the victim misbehave again here."""

    YES = "yes"
    NO = "no"
    NON_DETERMINISTIC = "non-deterministic"


@dataclass(frozen=True)
class BisectConfig:
    suite: Suite
    victim: str
    store_dir: Path
    run_id: int | None = None
    order_file: Path | None = None
    cleaners: bool = False
    first_only: bool = False  # stop at the first verified set: no search for independent ones
    start: StartingOrder | None = None  # given by `seeds --bisect`
    # --confidence: when a starting order counts as reproducing
    rule: Rule = field(default_factory=Rule)
    # `--from DIR`: a run recorded elsewhere, checked as far as needs no pytest run
    # (``read_for_victim``); imported once the suite is collected here.
    recorded: RecordedRun | None = None
    # `seeds --bisect` for a brittle or order-dependent test that is parallel-only as well:
    # ``start`` is the xdist run it failed in; only the parallel-only search is made.
    parallel_only: bool = False


MAX_SETS = 8  # independent polluter sets looked for before stopping
CLEANER_GROUP = 64  # cleaners are looked for in groups of at most this many tests
SCAN_MIN = 16  # a shorter starting order is replayed whole, not scanned
MORE_XDIST_RUNS = 2  # other failing xdist runs a parallel-only search is tried from


def run_bisect(config: BisectConfig, store: Store, trials: TrialRunner,
               observer: BisectObserver, collected: list[str] | None = None,
               own_module: OwnModuleCheck | None = None) -> BisectResult:
    """``own_module``: how to run a victim that fails alone in its own module too, before it
    is treated as brittle (``seeds --bisect`` did that in its confirmation already)."""
    started = time.monotonic()
    first_trial = trials.trials
    if collected is None:
        collected = _collected(config, store, trials)
        require_collected(config.victim, collected)
    if config.recorded is not None:
        config = _imported(config, config.recorded, store, trials, observer, collected)
    explicit = config.start or config.order_file or config.run_id is not None
    known = None if explicit else store.latest_verdict(config.victim)
    if known is not None and known[0] == BisectKind.NON_DETERMINISTIC.value:
        result = BisectResult(config.victim, BisectKind.NON_DETERMINISTIC,
                              note=f"isoscan seeds found it non-deterministic (session "
                                   f"{known[1]}); a non-deterministic test is never bisected")
    else:
        try:
            result = _bisect(config, store, trials, observer, collected, own_module)
        except Inconclusive as exc:
            result = BisectResult(config.victim, BisectKind.NOT_REPRODUCIBLE, note=str(exc))
    result.trials = trials.trials - first_trial
    result.seconds = time.monotonic() - started
    return result


def _collected(config: BisectConfig, store: Store, trials: TrialRunner) -> list[str]:
    """The suite's ids: from the fork server, which collected once already, or else from a
    collect-only pytest run."""
    ids = trials.collected()
    if ids:
        return ids
    workdir = store.root / "collect" / f"{os.getpid()}-{time.time_ns()}"
    return collect_ids(config.suite, workdir)


def _imported(config: BisectConfig, recorded: RecordedRun, store: Store, trials: TrialRunner,
              observer: BisectObserver, collected: list[str]) -> BisectConfig:
    """``--from DIR``: once every test of the recorded run is collected here, it is stored as a
    run, and the bisect starts from that run exactly as ``--run ID`` would."""
    recorded.require_collected(collected)
    run_id = import_recorded(store, recorded, config.suite)
    observer.step(trials.trials, f"imported {recorded.directory} as run #{run_id} "
                  f"({recorded.label})")
    return replace(config, run_id=run_id, recorded=None)


def _bisect(config: BisectConfig, store: Store, trials: TrialRunner, observer: BisectObserver,
            collected: list[str], own_module: OwnModuleCheck | None = None) -> BisectResult:
    victim = config.victim
    start = explicit_start(store, victim, failed=True, given=config.start,
                           order_file=config.order_file, run_id=config.run_id,
                           collected=collected)
    if config.parallel_only and start is not None and start.workers > 0:
        observer.step(trials.trials, f"also parallel-only: from {start.source}, where its "
                      "worker's order replayed serially passes")
        return _parallel_only(config, store, start, trials, observer, collected)
    # Alone under the failing order's seed: pytest-randomly reseeds `random` per test from the
    # seed and the node id, so a victim may fail under one seed whatever runs before it.
    seed = start.seed if start else None
    # With its whole --timeout: a victim only slow alone must not pass for one hanging there.
    alone = Probe(trials, victim, seed, observer).outcome([], full=True)
    observer.step(trials.trials, f"victim {Alone.SUITE.phrase}: {alone.value}")
    if alone.is_failure:
        return in_own_module(own_module, victim, collected, seed, observer, trials.trials,
                             lambda: _brittle(config, store, trials, observer, collected))
    return _victim(config, store, start, trials, observer, collected)


# -- victims ----------------------------------------------------------------------------------
def _victim(config: BisectConfig, store: Store, explicit: StartingOrder | None,
            trials: TrialRunner, observer: BisectObserver, collected: list[str]) -> BisectResult:
    victim = config.victim
    starts = [explicit] if explicit is not None else cold_starts(collected, victim)
    # A test that crashed or hung in the run the order comes from is left out from the start
    # (put back, with the order as it ran, only if the victim passes without it).
    starts = faults_left_out(store, starts, victim)
    for start in starts:
        observer.step(trials.trials, f"starting order: {start.source}, {len(start.prefix)} tests")
        probe = Probe(trials, victim, start.seed, observer)
        scanned = _scanned(start, victim, probe, ScanStop.FAILS, trials, observer, config.rule)
        if isinstance(scanned, list):
            return _find_polluters(config, start, probe, trials, observer, collected, scanned)
        verdict = scanned or _reproduces(start, probe, ScanStop.FAILS, trials, observer,
                                         config.rule)
        if verdict is Reproduction.YES:
            return _find_polluters(config, start, probe, trials, observer, collected)
        if verdict is Reproduction.NON_DETERMINISTIC:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=start.source,
                                note="the same order failed and then passed (or it failed "
                                     "alone); not bisected", confirmation=probe.confirmation)
        if start.workers > 0 and start.observed:
            observer.step(trials.trials, "it failed under xdist and its worker's order "
                          "replayed serially passes: a test on another worker is to blame")
            return _parallel_only(config, store, start, trials, observer, collected)
    given = explicit is not None and not explicit.observed
    note = "the victim passes in the given order" if given else "no order tried makes it fail"
    return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=starts[-1].source, note=note)


def _parallel_only(config: BisectConfig, store: Store, start: StartingOrder,
                   trials: TrialRunner, observer: BisectObserver,
                   collected: list[str]) -> BisectResult:
    """A victim whose own worker's order passes. When the run it starts from gives no verified
    answer and the bisect chose that run itself, the other runs of the same session where it
    failed under xdist are tried too (newest first): how reliably a concurrent replay
    reproduces a collision depends on the timing recorded in the run it replays."""
    result = _parallel_from(config, store, start, trials, observer, collected)
    if config.run_id is not None or result.polluters or result.kind is not BisectKind.PARALLEL_ONLY:
        return result
    for other in other_xdist_failures(store, config.victim, start)[:MORE_XDIST_RUNS]:
        observer.step(trials.trials, f"nothing verified from run #{start.run_id}; trying "
                      f"run #{other.run_id}, where it failed under xdist too")
        again = _parallel_from(config, store, other, trials, observer, collected)
        if again.polluters or again.kind is not BisectKind.PARALLEL_ONLY:
            return again
    return result


def _parallel_from(config: BisectConfig, store: Store, start: StartingOrder,
                   trials: TrialRunner, observer: BisectObserver,
                   collected: list[str]) -> BisectResult:
    """From one xdist run: first a leftover from another worker (a serial replay of every
    worker's tests by start time), then a collision in time."""
    victim = config.victim
    line = timeline(store, start.run_id, victim)
    if line is None:
        return BisectResult(victim, BisectKind.PARALLEL_ONLY, source=start.source,
                            note="failed under xdist, but the run recorded no start times "
                                 "to replay; nothing to blame")
    merged = line.merged_before()
    if set(merged) - set(start.prefix):
        leftover = StartingOrder(merged, start.seed, f"run #{line.run_id}: every worker's "
                                 f"tests before it, merged by start time", run_id=line.run_id)
        observer.step(trials.trials, f"replaying serially the {len(merged)} tests all workers "
                      f"started before it, merged by start time")
        probe = Probe(trials, victim, start.seed, observer)
        verdict = _reproduces(leftover, probe, ScanStop.FAILS, trials, observer, config.rule)
        if verdict is Reproduction.NON_DETERMINISTIC:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=leftover.source,
                                note="the merged order failed and then passed; not bisected")
        if verdict is Reproduction.YES:
            result = _find_polluters(config, leftover, probe, trials, observer, collected)
            if result.polluters:
                result.kind = BisectKind.PARALLEL_ONLY
                result.parallel = leftover_answer(trials, line, result.polluters, start.seed,
                                                  config.suite.cwd)
                others = sorted(set(result.parallel.workers.values()) - {line.worker})
                result.note = (f"a leftover: a polluter ran earlier on another worker "
                               f"({', '.join(others) or 'none'}) and left state behind; "
                               f"it failed on {line.worker}")
            return result
    result, search = find_collision(victim, line, start.seed, trials, observer, start.source,
                                    config.suite.cwd, config.rule)
    if result.parallel is not None:
        for number, culprits in enumerate(result.polluters, start=1):
            lanes_file = repro_path(config.store_dir, victim, number).with_suffix(".lanes.json")
            save_lanes(lanes_file, config.suite, victim, start.seed, search.lanes(culprits))
            command = replay_command(_relative(lanes_file, config.suite.cwd))
            result.reproduce_all.append(command)
            if number == 1:
                result.parallel.lanes_file = lanes_file
                result.reproduce = command
        result.seed = start.seed
    return result


def _reproduces(start: StartingOrder, probe: Probe, stop: ScanStop, trials: TrialRunner,
                observer: BisectObserver, rule: Rule) -> Reproduction:
    """Whether the order reproduces: yes, no (it never did here), or non-deterministic. After
    a first replay that misbehaves, the stated rule decides (``reproduction.py``); an order
    that ``seeds`` confirmed by that rule already is not checked again."""
    if start.confirmed:
        return Reproduction.YES
    holds = _holds(probe, stop)
    first = holds(start.prefix)
    observer.step(trials.trials, f"replay of the starting order: {_says(first)}")
    if not first:
        if start.observed and start.workers == 0:
            return Reproduction.NON_DETERMINISTIC
        return Reproduction.NO
    probe.confirmation = check_order(start.prefix, holds, rule, trials, observer,
                                     "retry of the starting order")
    return (Reproduction.YES if probe.confirmation.contradicted_by is None
            else Reproduction.NON_DETERMINISTIC)


def _holds(probe: Probe, stop: ScanStop) -> Holds:
    return probe.fails if stop is ScanStop.FAILS else probe.passes


def _scanned(start: StartingOrder, victim: str, probe: Probe, stop: ScanStop,
             trials: TrialRunner, observer: BisectObserver,
             rule: Rule) -> list[str] | Reproduction | None:
    """With fork trials, one scan of the starting order (``scan_chain.py``) instead of
    replaying all of it. Returns the shortest part of the order after which the victim
    misbehaves, once fresh trials of that part agree by the stated rule; NON_DETERMINISTIC
    when they disagree; NO when the scan ran the whole order and the victim never misbehaved
    (an order never seen failing); None to replay the order as usual."""
    holds = _holds(probe, stop)
    if start.confirmed or len(start.prefix) < SCAN_MIN:
        return None
    if start.workers > 0:
        return None  # an xdist worker's order: its plain replay tells whether it is parallel-only
    misbehaves = _misbehaves(stop)
    result = trials.scan(start.prefix, victim, start.seed, stop=stop)
    if result is None:
        return None
    cut = result.first(misbehaves)
    if cut is None:
        whole = result.trial.outcome_of(victim)
        observer.step(trials.trials, f"scan of the starting order: {_says(False)} "
                      f"({len(result.checks)} checkpoints)")
        return Reproduction.NO if whole.ran and not start.observed else None
    observer.step(trials.trials, f"scan of the starting order: {_verb(stop)} after its first "
                  f"{cut} of {len(start.prefix)} tests")
    part = start.prefix[:cut]
    again = holds(part)
    if not again:
        observer.step(trials.trials, f"retry of those {cut} tests in a fresh trial: "
                      f"{_says(again)}")
        return None
    probe.confirmation = check_order(part, holds, rule, trials, observer,
                                     f"retry of those {cut} tests in fresh trials")
    if probe.confirmation.contradicted_by is not None:
        return Reproduction.NON_DETERMINISTIC
    # The victim behaved after the checkpoint before: a lone culprit is in between.
    good = result.last_good(misbehaves, cut)
    if good and cut - good < len(part) // 2 and holds(part[good:]):
        observer.step(trials.trials, f"tests {good + 1} to {cut} of the order are enough alone")
        return part[good:]
    return part


def _misbehaves(stop: ScanStop) -> Callable[[Outcome], bool]:
    if stop is ScanStop.FAILS:
        return lambda outcome: outcome.is_failure
    return lambda outcome: not outcome.is_failure


def _verb(stop: ScanStop) -> str:
    return "fails" if stop is ScanStop.FAILS else "passes"


def _says(reproduced: bool) -> str:
    return "reproduces" if reproduced else "does not reproduce"


def _find_polluters(config: BisectConfig, start: StartingOrder, probe: Probe,
                    trials: TrialRunner, observer: BisectObserver,
                    collected: list[str], first: list[str] | None = None) -> BisectResult:
    victim = config.victim
    found = _shrink_sets(start.prefix, probe.fails, trials, observer, "polluter", first,
                         first_only=config.first_only)
    result = BisectResult(victim, BisectKind.VICTIM, source=start.source,
                          left_out=[*start.left_out, *probe.left_out],
                          confirmation=probe.confirmation)
    if found is None:
        result.kind = BisectKind.NOT_REPRODUCIBLE
        result.note = "no polluter set survived verification"
        return result
    sets, checked_rest, left = found
    slow = _only_slow(probe, sets[0], trials, observer)
    if slow is not None:
        return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=start.source,
                            note=slow, confirmation=probe.confirmation)
    if left:
        result.note = (f"stopped after {len(sets)} independent sets: the other {left} tests "
                       "still make it fail without them")
    elif config.first_only:
        result.note = ("stopped at the first verified set (--first): the rest of the order was "
                       "not checked for other independent polluters")
    if not checked_rest:
        alone = Probe(trials, victim, start.seed, observer).outcome([])
        observer.step(trials.trials, f"verify: victim alone {alone.value}")
        if alone.is_failure:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=start.source,
                                note="the victim failed alone on a second run")
    result.polluters = sets
    if config.cleaners:
        result.cleaners = _find_cleaners(sets[0], probe, collected, trials, observer)
    _add_reproduce(result, config, sets, start.seed)
    return result


def _shrink_sets(prefix: list[str], holds: Holds, trials: TrialRunner, observer: BisectObserver,
                 role: str, first: list[str] | None = None, *, first_only: bool = False
                 ) -> tuple[list[list[str]], bool, int] | None:
    """Independent minimal sets in ``prefix``, each verified. The bool says whether the rest
    of the prefix was tried without them; the int, how many tests of that rest still made the
    victim misbehave when the search stopped (at MAX_SETS, or finding no further set).
    ``first``, a part of the prefix known to be enough on its own (a scan's cut), is where the
    first set is looked for; the rest of the whole prefix is then checked as usual, unless
    ``first_only``."""
    sets: list[list[str]] = []
    remaining = list(prefix)
    while remaining and len(sets) < MAX_SETS:
        pool = first if first is not None and not sets else remaining
        shrinker = Shrinker(pool, holds)
        candidate = _verified(shrinker, pool, holds, trials, observer, role)
        if candidate is None and pool is first:
            # The scan's cut did not hold up in fresh trials: search the whole order instead.
            observer.step(trials.trials, "nothing verified in the scan's cut; searching the "
                          "whole order")
            first = None
            continue
        if candidate is None:
            return None if not sets else (sets, True, len(remaining))
        sets.append(candidate)
        remaining = [t for t in remaining if t not in candidate]
        if not remaining or first_only:
            return sets, False, 0
        more = holds(remaining)
        observer.step(trials.trials, f"the other {len(remaining)} tests without it: "
                      f"{'still misbehaves, looking for another set' if more else 'clean'}")
        if not more:
            return sets, True, 0
    return (sets, True, len(remaining)) if sets else None


def _verified(shrinker: Shrinker, pool: list[str], holds: Holds, trials: TrialRunner,
              observer: BisectObserver, role: str) -> list[str] | None:
    for careful in (False, True):
        candidate = shrinker.shrink(pool, careful)
        observer.step(trials.trials, f"{'careful' if careful else 'binary'} search: "
                      f"{role} candidate {', '.join(candidate)}")
        if holds(candidate):  # a fresh trial, not the cache
            observer.step(trials.trials, f"verified: {role} set of {len(candidate)}")
            return candidate
        observer.step(trials.trials, "verification failed; searching carefully")
    return None


def _only_slow(probe: Probe, before: list[str], trials: TrialRunner,
               observer: BisectObserver) -> str | None:
    """An answer that rests on the victim being stopped at its early bound is confirmed once
    with its whole --timeout: None when it fails that way too, else why there is no answer."""
    if not probe.stopped_early:
        return None
    full = probe.outcome_full(before)
    observer.step(trials.trials, f"with its full --timeout{' after them' if before else ' alone'}"
                  f": {full.value}")
    if full.is_failure:
        return None
    return ("it only ran past its early bound (slow, not hung): with the full --timeout it "
            "passes, so nothing is blamed")


def _find_cleaners(polluters: list[str], probe: Probe, collected: list[str],
                   trials: TrialRunner, observer: BisectObserver) -> list[str]:
    """Tests that, run between the polluters and the victim, make it pass. Found by group
    testing: a group after which the victim passes is split until single tests remain."""
    pool = [t for t in collected if t not in polluters and t != probe.victim]
    cleaners: list[str] = []
    pending = [pool[i:i + CLEANER_GROUP] for i in range(0, len(pool), CLEANER_GROUP)]
    while pending:
        group = pending.pop(0)
        if probe.fails([*polluters, *group]):
            continue
        if len(group) == 1:
            cleaners.append(group[0])
            observer.step(trials.trials, f"cleaner: {group[0]}")
            continue
        half = len(group) // 2
        pending[:0] = [group[:half], group[half:]]
    return cleaners


# -- brittle tests ----------------------------------------------------------------------------
def _brittle(config: BisectConfig, store: Store, trials: TrialRunner, observer: BisectObserver,
             collected: list[str]) -> BisectResult:
    victim = config.victim
    explicit = explicit_start(store, victim, failed=False, given=config.start,
                              order_file=config.order_file, run_id=config.run_id)
    starts = [explicit] if explicit is not None else cold_starts(collected, victim)
    for start in starts:
        observer.step(trials.trials, f"it fails alone; looking for a state-setter in: "
                      f"{start.source}, {len(start.prefix)} tests")
        probe = Probe(trials, victim, start.seed, observer)
        scanned = _scanned(start, victim, probe, ScanStop.PASSES, trials, observer,
                           config.rule)
        cut = scanned if isinstance(scanned, list) else None
        verdict = Reproduction.YES if cut is not None else (
            scanned or _reproduces(start, probe, ScanStop.PASSES, trials, observer, config.rule))
        if verdict is Reproduction.NON_DETERMINISTIC:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=start.source,
                                note="the same order passed and then failed; not bisected")
        if verdict is not Reproduction.YES:
            continue
        found = _shrink_sets(start.prefix, probe.passes, trials, observer, "state-setter", cut,
                             first_only=config.first_only)
        if found is None:
            return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=start.source,
                                note="no state-setter survived verification")
        sets, _, _ = found
        again = Probe(trials, victim, start.seed, observer)
        alone = again.outcome([])
        observer.step(trials.trials, f"verify: victim alone {alone.value}")
        if not alone.is_failure:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=start.source,
                                note="it passed alone on a second run")
        slow = _only_slow(again, [], trials, observer)
        if slow is not None:
            return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=start.source,
                                note=slow)
        result = BisectResult(victim, BisectKind.BRITTLE, source=start.source,
                              left_out=[*start.left_out, *probe.left_out],
                              state_setters=[t for s in sets for t in s],
                              confirmation=probe.confirmation)
        _add_reproduce(result, config, sets, start.seed)
        return result
    return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=starts[-1].source,
                        note="it fails alone and in every order tried")


# -- the reproduce command ----------------------------------------------------------------------
def _add_reproduce(result: BisectResult, config: BisectConfig, sets: list[list[str]],
                   seed: int | None) -> None:
    """One reproduce command per independent set, each reading its own order file."""
    result.seed = seed
    for number, before in enumerate(sets, start=1):
        order_file = repro_path(config.store_dir, config.victim, number)
        write_order_file(order_file, [*before, config.victim])
        shown = _relative(order_file, config.suite.cwd)
        result.reproduce_all.append(
            reproduce_command(config.suite, Ordering(OrderingKind.EXPLICIT, seed), shown))
        if number == 1:
            result.order_file = order_file
            result.reproduce = result.reproduce_all[0]


def repro_path(store_dir: Path, victim: str, number: int = 1) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", victim.rsplit("::", 1)[-1])[:60]
    digest = hashlib.sha1(victim.encode("utf-8")).hexdigest()[:8]
    suffix = "" if number == 1 else f"-set{number}"
    return store_dir / "repro" / f"{slug}-{digest}{suffix}.txt"


def _relative(path: Path, cwd: Path) -> Path:
    try:
        return path.resolve().relative_to(cwd.resolve())
    except ValueError:
        return path.resolve()
