"""Trials: running an exact ordered list of tests once, serially, in a fresh process.

Every confirmation replay and bisect step is a trial. Each one is stored as a run, so the
evidence behind a verdict can be looked at afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from isoscan.outcomes import Outcome
from isoscan.pytest_cmd import EXPLICIT, Ordering, Suite
from isoscan.runner import RunResult, execute_run
from isoscan.store import Store


@dataclass
class TrialOutcome:
    order: list[str]
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    exit_code: int = 0
    run_id: int | None = None
    missing: list[str] = field(default_factory=list)

    def outcome_of(self, nodeid: str) -> Outcome:
        return self.outcomes.get(nodeid, Outcome.NOT_RUN)


class TrialRunner(Protocol):
    trials: int

    def run(self, order: Sequence[str], seed: int | None = None) -> TrialOutcome: ...


class SubprocessTrials:
    """One pytest subprocess per trial: pays start-up and collection every time."""

    def __init__(self, suite: Suite, store: Store, session_id: int, purpose: str) -> None:
        self.suite = suite
        self.store = store
        self.session_id = session_id
        self.purpose = purpose
        self.trials = 0

    def run(self, order: Sequence[str], seed: int | None = None) -> TrialOutcome:
        ordering = Ordering(EXPLICIT, seed)
        run_id, run_dir = self.store.start_run(self.session_id, self.purpose, EXPLICIT, seed, 0)
        try:
            result = execute_run(self.suite, ordering, 0, run_dir, junit=False, resume=False,
                                 explicit=list(order))
        except BaseException:
            self.store.abort_run(run_id)
            raise
        self.store.finish_run(run_id, result)
        self.trials += 1
        return trial_outcome(list(order), result, run_id)


def trial_outcome(order: list[str], result: RunResult, run_id: int) -> TrialOutcome:
    missing = [m for p in result.processes for m in p.missing]
    return TrialOutcome(
        order=order,
        outcomes={n: r.outcome for n, r in result.results.items()},
        exit_code=result.exit_code,
        run_id=run_id,
        missing=missing,
    )


def make_trials(suite: Suite, store: Store, session_id: int, purpose: str, fork: bool,
                on_fallback: Callable[[str], None] | None = None) -> TrialRunner:
    """The trial runner a command should use: fork trials (collect once, fork per trial)
    unless ``fork`` is False (``--no-fork``) or this platform cannot fork, in which case
    ``on_fallback`` is told why. ``on_fallback`` also hears a later fallback of the fork
    runner (threads alive after collection). End the runner with ``close_trials``."""
    if fork:
        from isoscan.fork_trials import ForkTrials, fork_unavailable

        reason = fork_unavailable()
        if reason is None:
            return ForkTrials(suite, store, session_id, purpose, on_fallback=on_fallback)
        if on_fallback is not None:
            on_fallback(f"{reason}; each trial runs in a fresh subprocess")
    return SubprocessTrials(suite, store, session_id, purpose)


def close_trials(runner: TrialRunner) -> None:
    """Ends what a runner keeps alive between trials (the fork server); safe on any runner."""
    close = getattr(runner, "close", None)
    if callable(close):
        close()
