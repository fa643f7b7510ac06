"""``isoscan seeds`` as a library: run the plan, build the matrix, confirm, judge."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from isoscan.bisect.context import BisectConfig
from isoscan.bisect.import_time import OwnModuleCheck
from isoscan.bisect.own_frame import judge_in_own_frame
from isoscan.bisect.starting_order import StartingOrder, failed_under_xdist, start_in_run
from isoscan.bisect.workflow import run_bisect
from isoscan.errors import SuiteError, pytest_reason
from isoscan.execution.argv import Suite
from isoscan.execution.git import git_head
from isoscan.execution.process import Progress
from isoscan.execution.runner import RunResult, execute_run
from isoscan.execution.timeouts import HangBook
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.model.coverage import PlanCoverage
from isoscan.model.report import SeedsReport
from isoscan.model.status import Command, RunPurpose, RunStatus, SessionStatus
from isoscan.model.sweep import Sweep
from isoscan.model.verdicts import Finding, Verdict
from isoscan.seeds.class_order import class_order_dependences, collected_order
from isoscan.seeds.confirm import Confirmer, ConfirmOptions
from isoscan.seeds.import_time import import_time_check
from isoscan.seeds.planned_runs import PlannedRun
from isoscan.seeds.sweep import full_run_durations, sweep_answers
from isoscan.store.db import Store
from isoscan.store.matrix import load_matrix
from isoscan.trials.base import TrialRunner
from isoscan.trials.factory import make_trials


class SeedsObserver(Protocol):
    def plan(self, plan: list[PlannedRun], coverage: PlanCoverage | None) -> None: ...
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
    command: Command = Command.SEEDS
    bisect: bool = False  # bisect every order-dependent, brittle and parallel-only test
    fork: bool = True  # confirmation and bisect trials in forked children
    coverage: PlanCoverage | None = None  # what planned orders cover, said before the runs
    sweep: bool = True  # with bisect: run each polluter found before every other test


def run_seeds(config: SeedsConfig, observer: SeedsObserver) -> SeedsReport:
    started = time.monotonic()
    store = Store(config.store_dir)
    suite = config.suite
    try:
        with store.recording_session(config.command, suite, git_head(suite.cwd)) as session:
            session_id = session.id
            observer.plan(config.plan, config.coverage)
            # One for the whole session: a test that hung in one run is stopped early in the
            # later runs and in every trial (execution/timeouts.py).
            hangs = HangBook(suite.timeout)
            interrupted = _run_plan(store, session_id, config, observer, hangs)
            matrix = load_matrix(store, [session_id])
            findings: list[Finding] = []
            pairs: list[BisectResult] = []
            sweeps: list[Sweep] = []
            trials = 0
            if not interrupted and matrix.suspects():
                runner = make_trials(suite, store, session_id, RunPurpose.CONFIRM, config.fork,
                                     on_fallback=observer.notice, hangs=hangs)
                def keep(finding: Finding) -> None:
                    findings.append(finding)
                    store.save_verdicts(session_id, {
                        finding.nodeid: (finding.verdict.value, finding.evidence.to_json())})

                imports = import_time_check(suite, store, session_id, matrix.tests,
                                            times=config.confirm.replays, fork=config.fork)
                try:
                    Confirmer(store, matrix, runner, config.confirm, imports=imports).confirm_all(
                        observer.confirming, on_finding=keep)
                    if config.bisect:
                        pairs = _bisect_findings(config, store, runner, findings, matrix.tests,
                                                 observer)
                        # Kept before the sweep: Ctrl-C during it loses none of these.
                        _save_pairs(store, session_id, findings, pairs)
                        if config.sweep:
                            def found(finding: Finding, pair: BisectResult) -> None:
                                pairs.append(pair)
                                keep(finding)
                                _save_pairs(store, session_id, [finding], [pair])

                            sweeps = sweep_answers(
                                list(pairs), suite=suite, store_dir=config.store_dir,
                                runner=runner, rule=config.confirm.rule,
                                collected=matrix.tests, skip={f.nodeid for f in findings},
                                durations=full_run_durations(store, session_id),
                                notice=observer.notice, observer=observer,
                                on_found=found).sweeps
                        pairs += _own_frames(config, store, session_id, findings, matrix.tests,
                                             observer)
                        _save_pairs(store, session_id, findings, pairs)
                except KeyboardInterrupt:
                    interrupted = True
                finally:
                    trials = runner.count + imports.trials
                    runner.close()
            session.status = SessionStatus.INTERRUPTED if interrupted else SessionStatus.DONE
            classes = class_order_dependences(store, matrix, findings,
                                              collected_order(store, matrix))
        return SeedsReport(session_id, matrix, findings, time.monotonic() - started, trials,
                           len(config.plan), interrupted, pairs=pairs,
                           coverage=config.coverage, sweeps=sweeps, class_order=classes)
    finally:
        store.close()


BISECTED = (Verdict.ORDER_DEPENDENT, Verdict.BRITTLE, Verdict.PARALLEL_ONLY)


def _bisect_findings(config: SeedsConfig, store: Store, runner: TrialRunner,
                     findings: list[Finding], collected: list[str],
                     observer: SeedsObserver) -> list[BisectResult]:
    """Bisect each order-dependent and brittle test from the order its confirmation already
    replayed, so no trial is spent re-checking that order; each parallel-only test from the
    xdist run it failed in, for the test on another worker that breaks it; then, for a
    brittle or order-dependent test that is parallel-only as well, that search from the
    xdist run its confirmation found."""
    todo = [f for f in findings if f.verdict in BISECTED]
    jobs = [(f, _start(store, f), False) for f in todo]
    jobs += [(f, start, True) for f in todo if (start := _also_start(store, f)) is not None]
    pairs = []
    for index, (finding, start, parallel) in enumerate(jobs):
        observer.bisecting(index, len(jobs), finding.nodeid)
        bisect_config = BisectConfig(suite=config.suite, victim=finding.nodeid,
                                     store_dir=config.store_dir, start=start,
                                     rule=config.confirm.rule, parallel_only=parallel)
        pairs.append(run_bisect(bisect_config, store, runner, observer,
                                collected=collected))
    return pairs


def _own_frames(config: SeedsConfig, store: Store, session_id: int, findings: list[Finding],
                collected: list[str], observer: SeedsObserver) -> list[BisectResult]:
    """Each import-time test judged in its own-module frame (``bisect/own_frame.py``), from the
    serial run where it failed with the most tests before it: a polluter found there is a
    second finding, kept in its evidence and listed with the bisected pairs."""
    todo = [f for f in findings if f.verdict is Verdict.IMPORT_TIME and
            f.evidence.import_time is not None and f.evidence.import_time.modules]
    check = OwnModuleCheck(config.suite, store, session_id, config.fork)
    pairs = []
    for index, finding in enumerate(todo):
        observer.bisecting(index, len(todo), finding.nodeid)
        starts = [start_in_run(store, run, finding.nodeid, failed=True)
                  for run in store.runs(session_id) if run.id in finding.evidence.failed_runs
                  and run.workers == 0]
        found = [s for s in starts if s is not None]
        if not found or finding.evidence.import_time is None:
            continue
        start = max(found, key=lambda s: len(s.prefix))
        answer = judge_in_own_frame(check, finding.nodeid, finding.evidence.import_time, start,
                                    collected, config.store_dir, config.confirm.rule, observer)
        store.save_verdicts(session_id, {
            finding.nodeid: (finding.verdict.value, finding.evidence.to_json())})
        if answer is not None and answer.kind in (BisectKind.VICTIM, BisectKind.BRITTLE):
            pairs.append(answer)
    return pairs


def _start(store: Store, finding: Finding) -> StartingOrder | None:
    if finding.verdict is Verdict.PARALLEL_ONLY:
        return failed_under_xdist(store, finding.nodeid, finding.evidence.failed_runs)
    replay = (finding.evidence.failing_order if finding.verdict is Verdict.ORDER_DEPENDENT
              else finding.evidence.passing_order)
    if replay is None:
        return None
    return StartingOrder(replay.prefix, replay.seed, f"run #{replay.run_id}, process "
                         f"{replay.process}", run_id=replay.run_id, observed=True,
                         confirmed=True)


def _also_start(store: Store, finding: Finding) -> StartingOrder | None:
    """The xdist run where a brittle or order-dependent test was found parallel-only too."""
    also = finding.evidence.also_parallel_only
    if also is None or finding.verdict is Verdict.PARALLEL_ONLY:
        return None
    run = store.run(also.run_id)
    return start_in_run(store, run, finding.nodeid, failed=True) if run is not None else None


def _save_pairs(store: Store, session_id: int, findings: list[Finding],
                pairs: list[BisectResult]) -> None:
    """Keeps each bisect answer in its test's stored evidence, so `isoscan report` shows it."""
    answers: dict[str, dict[str, Any]] = {}
    for pair in pairs:  # a second answer for a victim is its also-parallel-only one
        key = "parallel_pair" if pair.victim in answers else "pair"
        answers.setdefault(pair.victim, {})[key] = pair.to_json()
    store.save_verdicts(session_id, {
        f.nodeid: (f.verdict.value, f.evidence.to_json() | answers[f.nodeid])
        for f in findings if f.nodeid in answers})


def _run_plan(store: Store, session_id: int, config: SeedsConfig,
              observer: SeedsObserver, hangs: HangBook) -> bool:
    """Runs the plan; True if Ctrl-C stopped it (every completed run is kept)."""
    for index, planned in enumerate(config.plan):
        try:
            observer.run_started(index, planned)
            # A run finished just before Ctrl-C stays finished; one under way is interrupted.
            with store.recording_run(session_id, RunPurpose.PLAN, planned.ordering.kind,
                                     planned.ordering.seed, planned.workers) as run:
                # A planned order runs exactly as planned; its order file stays in the run's
                # folder, and its processes' orders are recorded like any run's.
                order = list(planned.order) if planned.order is not None else None
                result = execute_run(config.suite, planned.ordering, planned.workers, run.dir,
                                     on_progress=observer.run_progress, explicit=order,
                                     timeouts=hangs.timeouts())
                run.finish(result)
            hangs.learn(result.results.values())
            observer.run_finished(index, planned, run.id, result)
        except KeyboardInterrupt:
            return True
        if result.status == RunStatus.ERROR and index == 0:
            raise _suite_error(result)
    return False


def _suite_error(result: RunResult) -> SuiteError:
    reason = pytest_reason(result.exit_code)
    return SuiteError(f"the suite could not run: {reason}", detail=result.output_tail())
