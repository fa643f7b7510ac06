"""One bisect's state: what was asked (``BisectConfig``) and what every step of the search
reads — the store, the trial runner, the observer and the collected ids (``Bisection``).

Each branch of the search (``victim``, ``brittle``, ``parallel_only``) is a module of its own
that takes the one ``Bisection`` instead of the same five values one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from isoscan.bisect.probe import BisectObserver, Probe
from isoscan.bisect.starting_order import StartingOrder
from isoscan.execution.argv import Suite
from isoscan.execution.recorded_run import RecordedRun
from isoscan.model.confidence import Rule
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner


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


@dataclass
class Bisection:
    config: BisectConfig
    store: Store
    trials: TrialRunner
    observer: BisectObserver
    collected: list[str]

    @property
    def victim(self) -> str:
        return self.config.victim

    def step(self, message: str) -> None:
        self.observer.step(self.trials.count, message)

    def probe(self, seed: int | None) -> Probe:
        return Probe(self.trials, self.config.victim, seed, self.observer)
