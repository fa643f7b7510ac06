"""The second kind of alone, and what it tells.

For a test that fails alone with the whole suite collected: run it alone in its own module a few
times, in fresh processes. If it passes there, and (for fork trials) still fails alone in a fresh
process that collects the whole suite, its failure comes from collecting other test modules: an
import-time dependence. The fewest modules whose collection breaks it are found by the same
shrinking as bisect's (``search/shrink.py``), each trial a fresh process collecting the victim's
module and a subset, running only the victim; the import that changes state is then named
(``import_time/naming.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from isoscan.execution.argv import Suite
from isoscan.import_time.naming import name_import_causes
from isoscan.import_time.runs import ModuleRuns
from isoscan.model.import_time import ImportCause, ImportDependence, ModuleAlone
from isoscan.model.outcomes import Outcome
from isoscan.search.shrink import Shrinker
from isoscan.store.db import Store


@dataclass
class ImportCheck:
    """What the check showed for one test."""

    alone_in_module: list[Outcome]
    shows: ModuleAlone
    whole_suite: Outcome | None = None  # alone, whole suite collected, fresh process
    dependence: ImportDependence | None = None
    # Alone with the whole suite collected it failed, then passed when collecting every other
    # module beside it and once more in a fresh process: a coin, not an import.
    unsteady: bool = False

    @property
    def outcomes(self) -> list[str]:
        return [o.value for o in self.alone_in_module]


class ImportChecker:
    """Runs the check; ``trials`` counts the fresh processes it started."""

    def __init__(self, suite: Suite, store: Store, session_id: int, collected: Sequence[str], *,
                 times: int, fork: bool, workdir: Path) -> None:
        self.runs = ModuleRuns(suite, store, session_id, collected)
        self.suite = suite
        self.times = times
        # Fork trials run "alone" in a fork of a session that imported everything: a failure
        # there is checked once more in a plain process before it is blamed on an import.
        self.fork = fork
        self.workdir = workdir
        # Per victim module: the modules that broke one of its tests, and what their import
        # does; a second test of the same module tries them first.
        self.known: dict[str, tuple[list[str], list[ImportCause]]] = {}

    @property
    def trials(self) -> int:
        return self.runs.trials

    def check(self, victim: str, seed: int | None = None) -> ImportCheck:
        """``seed``: the pytest-randomly seed context its "alone" failed under, if any."""
        outcomes: list[Outcome] = []
        for _ in range(self.times):
            outcome = self.runs.alone(victim, seed)
            outcomes.append(outcome)
            if not outcome.ran or _mixed(outcomes):
                break
        shows = _shows(outcomes)
        if shows is not ModuleAlone.PASSES:
            return ImportCheck(outcomes, shows)
        whole = None
        if self.fork:
            whole = self.runs.whole_suite(victim, seed)
            if not whole.is_failure:
                return ImportCheck(outcomes, shows, whole)
        dependence = self._dependence(victim, seed)
        if not dependence.modules:
            # No module breaks it: before blaming the suite's paths or options, its failure
            # with the whole suite collected must show again in a fresh process.
            again = self.runs.whole_suite(victim, seed)
            if again.ran and not again.is_failure:
                return ImportCheck(outcomes, shows, again, unsteady=True)
        return ImportCheck(outcomes, shows, whole, dependence)

    def _dependence(self, victim: str, seed: int | None) -> ImportDependence:
        try:
            return self._search(victim, seed)
        except _NotRun as stop:
            frame = self.runs.frame(victim)
            return ImportDependence([], passes=frame.command(self.suite, seed=seed), note=(
                f"a fresh process collecting {len(stop.modules)} other test module(s) beside "
                f"it did not run it, twice ({stop.outcome.value}): no answer from a trial "
                "that did not run"))

    def _search(self, victim: str, seed: int | None) -> ImportDependence:
        # After the runs alone: a frame that had to fall back to the module's path says so.
        frame = self.runs.frame(victim)
        pool = [m for m in frame.order if m != frame.module]
        fails = self._breaks(victim, seed)
        known = self.known.get(frame.module)
        if known is not None and fails(known[0]):
            modules, causes = known[0], known[1]
            note = ""
        elif not fails(pool):
            return ImportDependence([], passes=frame.command(self.suite, seed=seed), note=(
                "collecting every other test module beside it passes: what breaks it comes "
                "with the suite's paths or pytest options, not a test module"))
        else:
            found = _fewest(pool, fails)
            if found is None:
                return ImportDependence([], passes=frame.command(self.suite, seed=seed),
                                        note="no set of modules survived a fresh check")
            modules = found
            causes, note = name_import_causes(
                frame.suite(self.suite), frame.suite(self.suite, modules, victim_first=True),
                victim, modules, frame.root, self.workdir / _slug(victim))
            self.known[frame.module] = (modules, causes)
        return ImportDependence(modules, causes, passes=frame.command(self.suite, seed=seed),
                                fails=frame.command(self.suite, modules, seed=seed), note=note)

    def _breaks(self, victim: str, seed: int | None) -> Callable[[Sequence[str]], bool]:
        def fails(modules: Sequence[str]) -> bool:
            outcome = self.runs.beside(victim, modules, seed)
            if not outcome.ran:
                # A trial that did not run the victim says nothing about these modules, and
                # counting it as a pass would drop the one that breaks it: once more, then stop.
                outcome = self.runs.beside(victim, modules, seed)
                if not outcome.ran:
                    raise _NotRun(modules, outcome)
            return outcome.is_failure

        return fails


class _NotRun(Exception):
    """A trial of the search did not run the victim, twice: the search has no answer."""

    def __init__(self, modules: Sequence[str], outcome: Outcome) -> None:
        super().__init__(f"not run beside {len(modules)} modules")
        self.modules = list(modules)
        self.outcome = outcome


def _fewest(pool: list[str], fails: Callable[[Sequence[str]], bool]) -> list[str] | None:
    """The fewest modules of ``pool`` that break the victim, checked once more afresh: the
    optimistic search first, the careful one (modules that only break it together) if that
    answer does not hold."""
    if len(pool) == 1:
        return pool  # the caller has just seen the whole pool break it
    shrinker = Shrinker(pool, fails)
    for careful in (False, True):
        candidate = shrinker.shrink(pool, careful)
        if fails(candidate):
            return candidate
    return None


def _shows(outcomes: list[Outcome]) -> ModuleAlone:
    if not outcomes or not all(o.ran for o in outcomes):
        return ModuleAlone.NOT_RUN
    if _mixed(outcomes):
        return ModuleAlone.MIXED
    return ModuleAlone.FAILS if outcomes[0].is_failure else ModuleAlone.PASSES


def _mixed(outcomes: list[Outcome]) -> bool:
    failures = {o.is_failure for o in outcomes if o.ran}
    return len(failures) > 1


def _slug(victim: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", victim.rsplit("::", 1)[-1])[:50]
    return f"{name}-{hashlib.sha1(victim.encode('utf-8')).hexdigest()[:8]}"
