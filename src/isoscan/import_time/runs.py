"""Running one test in a fresh pytest process that collects only some of the suite's modules.

Always a plain subprocess, never a fork of a collected session: a fork has imported every test
module already, which is exactly what these runs leave out. Each run is stored (purpose
``imports``), so the evidence behind an import-time verdict can be looked at afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from isoscan.execution.argv import Suite
from isoscan.import_time.frame import Frame, find_rootdir, modules_in_order
from isoscan.model.outcomes import Outcome
from isoscan.model.status import RunPurpose
from isoscan.store.db import Store
from isoscan.trials.subprocess_trials import SubprocessTrials

# pytest's exit code for arguments it cannot resolve ("ERROR: not found: …").
USAGE_ERROR = 4
# A module that cannot be imported without the rest of the suite must not stop the victim from
# running in a trial that collects it beside the victim.
KEEP_GOING = "--continue-on-collection-errors"


class ModuleRuns:
    """Fresh processes collecting a victim's own module, alone or beside other modules."""

    def __init__(self, suite: Suite, store: Store, session_id: int,
                 collected: Sequence[str]) -> None:
        self.suite = suite
        self.store = store
        self.session_id = session_id
        self.order = tuple(modules_in_order(collected))
        self.trials = 0
        self.frames: dict[str, Frame] = {}

    def frame(self, victim: str) -> Frame:
        if victim not in self.frames:
            self.frames[victim] = Frame(victim, find_rootdir(victim, self.suite), self.order)
        return self.frames[victim]

    def alone(self, victim: str, seed: int | None = None) -> Outcome:
        """The victim alone in its own module, as ``pytest path::id`` runs it. ``seed``: the
        pytest-randomly seed context of the run it is compared with."""
        return self.beside(victim, (), seed)

    def beside(self, victim: str, modules: Sequence[str], seed: int | None = None) -> Outcome:
        """The victim run alone, its own module and ``modules`` collected."""
        frame = self.frame(victim)
        outcome, exit_code = self._run(frame, modules, seed)
        if not outcome.ran and exit_code == USAGE_ERROR and frame.by_id:
            # This pytest cannot resolve the id as an argument: the module's path, the exact
            # id selected by isoscan's order file instead.
            self.frames[victim] = frame.without_id()
            outcome, exit_code = self._run(self.frames[victim], modules, seed)
        return outcome

    def whole_suite(self, victim: str, seed: int | None = None) -> Outcome:
        """The victim alone with the whole suite collected, in a fresh process."""
        return self._trial(self.suite, victim, seed)[0]

    def _run(self, frame: Frame, modules: Sequence[str], seed: int | None
             ) -> tuple[Outcome, int]:
        suite = frame.suite(self.suite, modules)
        if modules:
            suite = replace(suite, pytest_args=(*suite.pytest_args, KEEP_GOING))
        return self._trial(suite, frame.victim, seed)

    def _trial(self, suite: Suite, victim: str, seed: int | None) -> tuple[Outcome, int]:
        trial = SubprocessTrials(suite, self.store, self.session_id, RunPurpose.IMPORTS)
        result = trial.run([victim], seed)
        self.trials += 1
        return result.outcome_of(victim), result.exit_code
