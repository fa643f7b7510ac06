"""Bisect's second kind of alone (``model/import_time.py``).

Bisect's trials run the victim "alone" with the whole suite collected. One that fails that way
is run alone in its own module too before it is treated as brittle: passing there, its answer is
the import-time dependence (the modules whose collection breaks it and what their import does),
and no state-setter is looked for. Not used by ``seeds --bisect``, whose confirmation did this
check already.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from isoscan.bisect.probe import BisectObserver
from isoscan.execution.argv import Suite
from isoscan.import_time.check import ImportChecker
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.model.import_time import Alone, ModuleAlone
from isoscan.store.db import Store


@dataclass(frozen=True)
class OwnModuleCheck:
    """What the check needs that a bisect does not carry: the session its fresh processes are
    stored in."""

    suite: Suite
    store: Store
    session_id: int
    fork: bool
    times: int = 3


def in_own_module(check: OwnModuleCheck | None, victim: str, collected: Sequence[str],
                  seed: int | None, observer: BisectObserver, trials: int,
                  brittle: Callable[[], BisectResult]) -> BisectResult:
    """The answer for a victim that fails alone with the whole suite collected (under
    ``seed``): import-time when it passes alone in its own module, else ``brittle()``."""
    if check is None:
        return brittle()
    checker = ImportChecker(check.suite, check.store, check.session_id, collected,
                            times=check.times, fork=check.fork,
                            workdir=check.store.root / "imports")
    result = checker.check(victim, seed)
    observer.step(trials, f"victim {Alone.MODULE.phrase} (fresh processes): "
                          f"{', '.join(result.outcomes)}")
    if result.shows is ModuleAlone.MIXED:
        return BisectResult(victim, BisectKind.NON_DETERMINISTIC, alone_in_module=result.outcomes,
                            note=f"passed and failed when run {Alone.MODULE.phrase}")
    if result.shows is not ModuleAlone.PASSES:
        answer = brittle()
        answer.alone_in_module = result.outcomes
        return answer
    dependence = result.dependence
    if dependence is None:
        return BisectResult(victim, BisectKind.NON_DETERMINISTIC, alone_in_module=result.outcomes,
                            note="fails alone in a fork of the collected session, but passes "
                                 "alone in a fresh process, with the whole suite collected and "
                                 "in its own module: try --no-fork")
    observer.step(trials, dependence.text)
    answer = BisectResult(victim, BisectKind.IMPORT_TIME, alone_in_module=result.outcomes,
                          import_time=dependence, note=dependence.note,
                          source=f"{checker.trials} fresh pytest processes (not counted as "
                                 "trials), each collecting its own module and some of the "
                                 "suite's other test modules")
    answer.reproduce = dependence.fails or None
    answer.reproduce_all = [c for c in (dependence.passes, dependence.fails) if c]
    return answer
