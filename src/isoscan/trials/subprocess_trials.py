"""Trials as fresh pytest subprocesses: each pays start-up and collection again."""

from __future__ import annotations

from collections.abc import Sequence

from isoscan.execution.argv import EXPLICIT, Ordering, Suite
from isoscan.execution.runner import RunResult, execute_run
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.outcome import TrialOutcome


class SubprocessTrials(TrialRunner):
    """One pytest subprocess per trial."""

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
