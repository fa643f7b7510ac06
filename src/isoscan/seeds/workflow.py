"""``isoscan seeds`` as a library: run the plan, build the matrix, confirm, judge."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from isoscan.bisect.starting_order import StartingOrder
from isoscan.bisect.workflow import BisectConfig, run_bisect
from isoscan.errors import SuiteError, pytest_reason
from isoscan.execution.argv import Suite
from isoscan.execution.process import Progress
from isoscan.execution.runner import STATUS_ERROR, RunResult, execute_run
from isoscan.model.answer import BisectResult
from isoscan.model.verdicts import DEFAULT_FAIL_ON, Finding, Verdict
from isoscan.seeds.confirm import Confirmer, ConfirmOptions
from isoscan.seeds.plan import PlannedRun
from isoscan.store.db import Store
from isoscan.store.matrix import PLAN, Matrix, load_matrix
from isoscan.trials.base import TrialRunner
from isoscan.trials.factory import make_trials

CONFIRM = "confirm"

# pytest's exit codes for a suite that could not run at all.


class SeedsObserver(Protocol):
    def plan(self, plan: list[PlannedRun]) -> None: ...
    def run_started(self, index: int, planned: PlannedRun) -> None: ...
    def run_progress(self, progress: Progress) -> None: ...
    def run_finished(self, index: int, planned: PlannedRun, run_id: int,
                     result: RunResult) -> None: ...
    def confirming(self, index: int, total: int, nodeid: str) -> None: ...
    def bisecting(self, index: int, total: int, nodeid: str) -> None: ...
    def step(self, trials: int, message: str) -> None: ...
    def notice(self, message: str) -> None: ...


@dataclass(frozen=True)
class SeedsConfig:
    suite: Suite
    plan: list[PlannedRun]
    store_dir: Path
    confirm: ConfirmOptions = field(default_factory=ConfirmOptions)
    command: str = "seeds"
    bisect: bool = False  # bisect every order-dependent and brittle test found
    fork: bool = True  # confirmation and bisect trials in forked children


@dataclass
class SeedsReport:
    session_id: int
    matrix: Matrix
    findings: list[Finding]
    seconds: float
    trials: int
    planned: int
    interrupted: bool = False
    # Filled when a report is loaded from disk (load_report.py); empty after a fresh run.
    evidence_json: dict[str, dict[str, Any]] = field(default_factory=dict)  # raw, as stored
    run_labels: dict[int, str] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    pairs: list[BisectResult] = field(default_factory=list)  # with --bisect

    def verdict_of(self, nodeid: str) -> Verdict:
        for finding in self.findings:
            if finding.nodeid == nodeid:
                return finding.verdict
        return Verdict.STABLE

    @property
    def unstable(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict is not Verdict.STABLE]

    @property
    def unconfirmed(self) -> list[str]:
        """Tests that failed somewhere but got no verdict (the session was interrupted)."""
        judged = {f.nodeid for f in self.findings}
        return [t for t in self.matrix.suspects() if t not in judged]

    @property
    def stable_count(self) -> int:
        return len(self.matrix.tests) - len(self.unstable) - len(self.unconfirmed)

    def exit_code(self, fail_on: Collection[Verdict] = DEFAULT_FAIL_ON) -> int:
        return 1 if any(f.verdict in fail_on for f in self.findings) else 0


def git_head(cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def run_seeds(config: SeedsConfig, observer: SeedsObserver) -> SeedsReport:
    started = time.monotonic()
    store = Store(config.store_dir)
    suite = config.suite
    session_id = store.begin_suite_session(config.command, suite, git_head(suite.cwd))
    observer.plan(config.plan)
    try:
        interrupted = _run_plan(store, session_id, config, observer)
        matrix = load_matrix(store, [session_id])
        findings: list[Finding] = []
        pairs: list[BisectResult] = []
        trials = 0
        if not interrupted and matrix.suspects():
            runner = make_trials(suite, store, session_id, CONFIRM, config.fork,
                                 on_fallback=observer.notice)
            def keep(finding: Finding) -> None:
                findings.append(finding)
                store.save_verdicts(session_id, {
                    finding.nodeid: (finding.verdict.value, finding.evidence.to_json())})

            try:
                Confirmer(store, matrix, runner, config.confirm).confirm_all(
                    observer.confirming, on_finding=keep)
                if config.bisect:
                    pairs = _bisect_findings(config, store, runner, findings, matrix.tests,
                                             observer)
                    _save_pairs(store, session_id, findings, pairs)
            except KeyboardInterrupt:
                interrupted = True
            finally:
                trials = runner.trials
                runner.close()
        store.end_session(session_id, "interrupted" if interrupted else "done")
        return SeedsReport(session_id, matrix, findings, time.monotonic() - started, trials,
                           len(config.plan), interrupted, pairs=pairs)
    except BaseException:
        store.end_session(session_id, "failed")
        raise
    finally:
        store.close()


def _bisect_findings(config: SeedsConfig, store: Store, runner: TrialRunner,
                     findings: list[Finding], collected: list[str],
                     observer: SeedsObserver) -> list[BisectResult]:
    """Bisect each order-dependent and brittle test from the order its confirmation already
    replayed, so no trial is spent re-checking that order."""
    todo = [f for f in findings if f.verdict in (Verdict.ORDER_DEPENDENT, Verdict.BRITTLE)]
    pairs = []
    for index, finding in enumerate(todo):
        observer.bisecting(index, len(todo), finding.nodeid)
        replay = (finding.evidence.failing_order if finding.verdict is Verdict.ORDER_DEPENDENT
                  else finding.evidence.passing_order)
        start = None
        if replay is not None:
            start = StartingOrder(replay.prefix, replay.seed,
                                  f"run #{replay.run_id}, process {replay.process}",
                                  run_id=replay.run_id, observed=True, confirmed=True)
        bisect_config = BisectConfig(suite=config.suite, victim=finding.nodeid,
                                     store_dir=config.store_dir, start=start)
        pairs.append(run_bisect(bisect_config, store, runner, observer,
                                collected=collected))
    return pairs


def _save_pairs(store: Store, session_id: int, findings: list[Finding],
                pairs: list[BisectResult]) -> None:
    """Keeps each bisect answer in its test's stored evidence, so `isoscan report` shows it."""
    answers = {pair.victim: pair.to_json() for pair in pairs}
    store.save_verdicts(session_id, {
        f.nodeid: (f.verdict.value, f.evidence.to_json() | {"pair": answers[f.nodeid]})
        for f in findings if f.nodeid in answers})


def _run_plan(store: Store, session_id: int, config: SeedsConfig,
              observer: SeedsObserver) -> bool:
    """Runs the plan; True if Ctrl-C stopped it (every completed run is kept)."""
    for index, planned in enumerate(config.plan):
        run_id: int | None = None
        try:
            observer.run_started(index, planned)
            run_id, run_dir = store.start_run(session_id, PLAN, planned.ordering.kind,
                                              planned.ordering.seed, planned.workers)
            result = execute_run(config.suite, planned.ordering, planned.workers, run_dir,
                                 on_progress=observer.run_progress)
            store.finish_run(run_id, result)
            observer.run_finished(index, planned, run_id, result)
        except KeyboardInterrupt:
            if run_id is not None:
                store.abort_run(run_id)  # a run finished just before Ctrl-C stays finished
            return True
        if result.status == STATUS_ERROR and index == 0:
            raise _suite_error(result)
    return False


def _suite_error(result: RunResult) -> SuiteError:
    reason = pytest_reason(result.exit_code)
    return SuiteError(f"the suite could not run: {reason}", detail=result.output_tail())
