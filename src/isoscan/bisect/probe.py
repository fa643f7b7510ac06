"""A bisect's one question: does the victim misbehave after these tests?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from isoscan.model.confidence import Confirmation
from isoscan.model.outcomes import Outcome
from isoscan.model.verdicts import NotRun
from isoscan.search.shrink import Holds
from isoscan.trials.base import TrialRunner
from isoscan.trials.scan import ScanStop


class Inconclusive(Exception):
    """A trial in which the victim could not run, and no test to blame for it; ``not_run``
    says which trial and why, when the trial tells it (a session refused or failed)."""

    def __init__(self, message: str, not_run: NotRun | None = None) -> None:
        super().__init__(message)
        self.not_run = not_run


class BisectObserver(Protocol):
    def step(self, trials: int, message: str) -> None: ...


class Probe:
    """Runs [tests..., victim] as one trial and reads the victim's outcome.

    A trial in which the victim never ran because an earlier test crashed or hung the process
    is inconclusive; that test is left out of every later trial and the trial is run again.

    A victim that hung before in the session is stopped at its early bound
    (``execution/timeouts.py``); ``stopped_early`` says that happened, and ``outcome_full``
    runs once more with its whole --timeout, for an answer that rests on the hang.
    """

    def __init__(self, trials: TrialRunner, victim: str, seed: int | None,
                 observer: BisectObserver) -> None:
        self.trials = trials
        self.victim = victim
        self.seed = seed
        self.observer = observer
        self.left_out: list[str] = []
        self.stopped_early = False
        # The rule's account of the check that this order reproduces (model/confidence.py).
        self.confirmation: Confirmation | None = None

    def outcome(self, tests: Sequence[str], *, full: bool = False) -> Outcome:
        while True:
            order = [t for t in tests if t not in self.left_out and t != self.victim]
            result = self.trials.run([*order, self.victim], self.seed,
                                     full_timeout=[self.victim] if full else ())
            outcome = result.outcome_of(self.victim)
            if outcome.ran:
                self.stopped_early |= outcome is Outcome.TIMEOUT_EARLY
                return outcome
            culprit = next((t for t in order if result.outcome_of(t) in
                            (Outcome.CRASHED, Outcome.TIMEOUT, Outcome.TIMEOUT_EARLY)), None)
            if culprit is None:
                where = f"running it after {len(order)} tests" if order else "running it alone"
                why = result.not_run(self.victim, where)
                raise Inconclusive(why.describe(), why)
            self.left_out.append(culprit)
            self.observer.step(self.trials.count,
                               f"{culprit} {result.outcome_of(culprit).value} the trial; "
                               "left out of later trials")

    def outcome_full(self, tests: Sequence[str]) -> Outcome:
        """[tests..., victim] once with the victim's whole --timeout."""
        return self.outcome(tests, full=True)

    def fails(self, tests: Sequence[str]) -> bool:
        return self.outcome(tests).is_failure

    def passes(self, tests: Sequence[str]) -> bool:
        return not self.outcome(tests).is_failure

    def holds(self, stop: ScanStop) -> Holds:
        """The question a search asks for this kind of answer: does the victim fail after the
        tests (its polluters), or pass (a brittle test's state-setters)?"""
        return self.fails if stop is ScanStop.FAILS else self.passes
