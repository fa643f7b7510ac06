"""``isoscan isolate`` as a library: run every collected test alone and list those that fail alone.

A test that fails when nothing ran before it is broken, or brittle: it passes only after some
other test set up state for it. No run of the whole suite, in any order, tells those apart
from a healthy test, because something always runs first; running the test alone does. With
fork trials each test runs in its own fork of one collected session, so running 1,500 tests
alone costs 1,500 forks, not 1,500 pytest start-ups.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from isoscan.errors import ExitCode, SuiteError
from isoscan.execution.argv import Suite
from isoscan.execution.collect import collect_ids_once
from isoscan.model.outcomes import Outcome
from isoscan.model.status import Command, RunPurpose, SessionStatus
from isoscan.store.db import Store
from isoscan.trials.base import TrialMode, TrialOutcome, TrialRunner
from isoscan.trials.factory import CommandObserver, command_trials

SCHEMA = "isoscan.isolate/1"
CHUNK = 100  # tests per stored run in fork mode



@dataclass(frozen=True)
class IsolateConfig:
    suite: Suite
    store_dir: Path
    fork: bool = True
    jobs: int = 1  # children at a time (fork mode); failures are then rechecked one at a time
    command: Command = Command.ISOLATE


@dataclass(frozen=True)
class AloneResult:
    nodeid: str
    outcome: Outcome
    message: str
    run_id: int | None
    rechecked: bool = False  # first failed beside other children; this is the serial rerun


@dataclass
class IsolateReport:
    session_id: int
    collected: int
    mode: TrialMode
    results: list[AloneResult] = field(default_factory=list)
    seconds: float = 0.0
    trials: int = 0
    fallback: str | None = None
    interrupted: bool = False

    @property
    def fail_alone(self) -> list[AloneResult]:
        return [r for r in self.results if r.outcome.is_failure]

    @property
    def not_run(self) -> list[AloneResult]:
        return [r for r in self.results if r.outcome is Outcome.NOT_RUN]

    def exit_code(self) -> ExitCode:
        return ExitCode.ATTENTION if self.fail_alone else ExitCode.OK


class IsolateObserver(CommandObserver, Protocol):
    def progress(self, done: int, total: int) -> None: ...


def run_isolate(config: IsolateConfig, observer: IsolateObserver) -> IsolateReport:
    started = time.monotonic()
    with command_trials(config.suite, config.store_dir, config.command, RunPurpose.ISOLATE,
                        config.fork, observer) as trials:
        report = _isolate(trials.runner, trials.store, trials.session.id, config, observer)
        report.fallback = trials.fallbacks.last
        report.seconds = time.monotonic() - started
        if report.interrupted:
            trials.session.status = SessionStatus.INTERRUPTED
    return report


def _isolate(runner: TrialRunner, store: Store, session_id: int, config: IsolateConfig,
             observer: IsolateObserver) -> IsolateReport:
    nodeids = runner.collected()
    if nodeids is None:
        nodeids = collect_ids_once(config.suite)
    if not nodeids:
        raise SuiteError("the suite could not run: pytest collected no tests")
    forked = runner.mode is TrialMode.FORK
    report = IsolateReport(session_id, len(nodeids), runner.mode)
    observer.started(len(nodeids), report.mode)
    try:
        _run_alone(runner, store, nodeids, config.jobs, report.results, observer.progress)
        if config.jobs > 1 and forked:
            _recheck(runner, store, report)
    except KeyboardInterrupt:
        report.interrupted = True
    report.trials = runner.count
    return report


def _run_alone(runner: TrialRunner, store: Store, nodeids: list[str], jobs: int,
               results: list[AloneResult], progress: Callable[[int, int], None]) -> None:
    """Appends each test's result as it completes (so an interrupt keeps what is done)."""
    chunks = [nodeids[start : start + CHUNK] for start in range(0, len(nodeids), CHUNK)]
    runner.run_alone_chunks(chunks, jobs=jobs, on_exit=progress, on_chunk=lambda outcome:
                            results.extend(_results(store, outcome.order, outcome)))


def _recheck(runner: TrialRunner, store: Store, report: IsolateReport) -> None:
    """Tests that failed while other children ran beside them run again one at a time, so
    a clash over a shared file or port is not reported as failing alone."""
    failed = [r.nodeid for r in report.fail_alone]
    if not failed:
        return
    again: list[AloneResult] = []
    _run_alone(runner, store, failed, 1, again, lambda done, total: None)
    rechecked = {r.nodeid: _as_rechecked(r) for r in again}
    report.results = [rechecked.get(r.nodeid, r) for r in report.results]


def _as_rechecked(result: AloneResult) -> AloneResult:
    return AloneResult(result.nodeid, result.outcome, result.message, result.run_id, True)


def _results(store: Store, nodeids: list[str], outcome: TrialOutcome) -> list[AloneResult]:
    cases = store.results(outcome.run_id) if outcome.run_id is not None else {}
    return [
        AloneResult(n, outcome.outcome_of(n), cases[n].message if n in cases else "",
                    outcome.run_id)
        for n in nodeids
    ]


def report_document(report: IsolateReport) -> dict[str, Any]:
    """The ``isoscan.isolate/1`` JSON document."""
    return {
        "schema": SCHEMA,
        "session": report.session_id,
        "mode": report.mode,
        "fallback": report.fallback,
        "interrupted": report.interrupted,
        "seconds": round(report.seconds, 3),
        "trials": report.trials,
        "collected": report.collected,
        "fail_alone": [r.nodeid for r in report.fail_alone],
        "tests": [_test_entry(r) for r in report.results],
    }


def _test_entry(result: AloneResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"nodeid": result.nodeid, "outcome": result.outcome.value,
                             "run": result.run_id}
    if result.message:
        entry["message"] = result.message
    if result.rechecked:
        entry["rechecked"] = True
    return entry


def no_observer() -> IsolateObserver:
    """An observer that ignores everything (library use, tests)."""
    return _Silent()


class _Silent:
    def fallback(self, reason: str) -> None:
        pass

    def started(self, collected: int, mode: TrialMode) -> None:
        pass

    def progress(self, done: int, total: int) -> None:
        pass

