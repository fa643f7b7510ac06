"""``isoscan bisect`` as a library: from an order in which a victim failed to the minimal,
verified set of polluters (or state-setters for a brittle test), and cleaners on request.

Every pytest run is a trial; the answer is only given after it has been verified with fresh
trials, and a victim whose order does not reproduce is reported as such, never blamed. This
module decides which branch a victim takes; each branch is the module named after it
(``victim``, ``brittle``, ``parallel_only``), all reading one ``Bisection``.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

from isoscan.bisect.brittle import bisect_brittle
from isoscan.bisect.context import BisectConfig, Bisection
from isoscan.bisect.import_time import OwnModuleCheck, in_own_module
from isoscan.bisect.parallel_only import parallel_only
from isoscan.bisect.probe import BisectObserver, Inconclusive
from isoscan.bisect.starting_order import explicit_start
from isoscan.bisect.victim import bisect_victim
from isoscan.execution.collect import collect_ids, require_collected
from isoscan.execution.recorded_run import RecordedRun
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.model.import_time import Alone
from isoscan.model.verdicts import Verdict
from isoscan.store.db import Store
from isoscan.store.recorded import import_recorded
from isoscan.trials.base import TrialRunner

__all__ = ["run_bisect"]


def run_bisect(config: BisectConfig, store: Store, trials: TrialRunner,
               observer: BisectObserver, collected: list[str] | None = None,
               own_module: OwnModuleCheck | None = None) -> BisectResult:
    """``own_module``: how to run a victim that fails alone in its own module too, before it
    is treated as brittle (``seeds --bisect`` did that in its confirmation already)."""
    started = time.monotonic()
    first_trial = trials.count
    if collected is None:
        collected = _collected(config, store, trials)
        require_collected(config.victim, collected)
    b = Bisection(config, store, trials, observer, collected)
    if config.recorded is not None:
        b.config = _imported(b, config.recorded)
    explicit = b.config.start or b.config.order_file or b.config.run_id is not None
    known = None if explicit else store.latest_verdict(config.victim)
    if known is not None and known[0] is Verdict.NON_DETERMINISTIC:
        result = BisectResult(config.victim, BisectKind.NON_DETERMINISTIC,
                              note=f"isoscan seeds found it non-deterministic (session "
                                   f"{known[1]}); a non-deterministic test is never bisected")
    else:
        try:
            result = _bisect(b, own_module)
        except Inconclusive as exc:
            # A trial that ran nothing gives no verdict: "not reproducible" would say the
            # order passed.
            kind = BisectKind.NOT_REPRODUCIBLE if exc.not_run is None else BisectKind.UNCONFIRMED
            result = BisectResult(config.victim, kind, note=str(exc), not_run=exc.not_run)
    result.trials = trials.count - first_trial
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


def _imported(b: Bisection, recorded: RecordedRun) -> BisectConfig:
    """``--from DIR``: once every test of the recorded run is collected here, it is stored as a
    run, and the bisect starts from that run exactly as ``--run ID`` would."""
    recorded.require_collected(b.collected)
    run_id = import_recorded(b.store, recorded, b.config.suite)
    b.step(f"imported {recorded.directory} as run #{run_id} ({recorded.label})")
    return replace(b.config, run_id=run_id, recorded=None)


def _bisect(b: Bisection, own_module: OwnModuleCheck | None) -> BisectResult:
    config = b.config
    start = explicit_start(b.store, b.victim, failed=True, given=config.start,
                           order_file=config.order_file, run_id=config.run_id,
                           collected=b.collected)
    if config.parallel_only and start is not None and start.workers > 0:
        b.step(f"also parallel-only: from {start.source}, where its worker's order replayed "
               "serially passes")
        return parallel_only(b, start)
    # Alone under the failing order's seed: pytest-randomly reseeds `random` per test from the
    # seed and the node id, so a victim may fail under one seed whatever runs before it.
    seed = start.seed if start else None
    # With its whole --timeout: a victim only slow alone must not pass for one hanging there.
    alone = b.probe(seed).outcome([], full=True)
    b.step(f"victim {Alone.SUITE.phrase}: {alone.value}")
    if alone.is_failure:
        return in_own_module(own_module, b.victim, b.collected, seed, b.observer, b.trials.count,
                             lambda: bisect_brittle(b))
    return bisect_victim(b, start)
