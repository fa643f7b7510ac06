"""``isoscan audit`` as a library: the map run, the candidates, the forced-overlap replays, the
table. Every replay is a stored run of the audit's session, so the evidence can be looked at
afterwards; an interrupt keeps what was proven so far."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from isoscan.audit.candidates import class_context, find_candidates
from isoscan.audit.model import AuditReport, Dist
from isoscan.audit.provoke import Prover
from isoscan.audit.table import build_rows
from isoscan.bisect.parallel import remember_touched
from isoscan.errors import SuiteError
from isoscan.execution.argv import Suite
from isoscan.execution.collect import collect_ids_once
from isoscan.model.confidence import Rule
from isoscan.model.status import Command, RunPurpose, SessionStatus
from isoscan.resources import Resource
from isoscan.trials.base import TrialRunner
from isoscan.trials.factory import CommandObserver, command_trials
from isoscan.trials.lanes import Lane


@dataclass(frozen=True)
class AuditConfig:
    suite: Suite
    store_dir: Path
    workers: int = 8  # lanes at once, each one xdist worker of -n N
    dist: Dist = Dist.LOAD
    fork: bool = True
    max_pairs: int = 200  # candidate pairs replayed at most, most likely first
    rule: Rule = field(default_factory=Rule)


class AuditObserver(CommandObserver, Protocol):
    def step(self, trials: int, message: str) -> None: ...


def run_audit(config: AuditConfig, observer: AuditObserver) -> AuditReport:
    started = time.monotonic()
    with command_trials(config.suite, config.store_dir, Command.AUDIT, RunPurpose.AUDIT,
                        config.fork, observer) as trials:
        report = AuditReport(trials.session.id, 0, config.workers, config.dist)
        try:
            _audit(trials.runner, config, report, observer)
        except KeyboardInterrupt:
            report.interrupted = True
            trials.session.status = SessionStatus.INTERRUPTED
        report.trials = trials.runner.count
        report.fallback = trials.fallbacks.last
        report.seconds = time.monotonic() - started
        report.rows = build_rows(report.touched, report.candidates, report.collisions,
                                 config.suite.cwd)
    return report


def _audit(runner: TrialRunner, config: AuditConfig, report: AuditReport,
           observer: AuditObserver) -> None:
    nodeids = runner.collected()
    if nodeids is None:
        nodeids = collect_ids_once(config.suite)
    if not nodeids:
        raise SuiteError("the suite could not run: pytest collected no tests")
    report.collected = len(nodeids)
    observer.started(len(nodeids), runner.mode)
    # The map: every test once, serially, in one process, recording what each one touches.
    began = time.monotonic()
    outcome = runner.run_concurrent([Lane(tuple(nodeids), tuple(0.0 for _ in nodeids), "gw0")])
    report.map_seconds = time.monotonic() - began
    report.map_run = outcome.run_id
    seen: dict[str, set[Resource]] = {}
    remember_touched(seen, outcome)
    report.touched = {t: sorted(seen[t]) for t in nodeids if seen.get(t)}
    report.failed_serially = [t for t in nodeids if outcome.outcome_of(t).is_failure]
    failed = set(report.failed_serially)
    ran = {t for t in nodeids if outcome.outcome_of(t).ran}
    observer.step(runner.count, f"map: {len(report.touched)} of {len(nodeids)} tests touch "
                  f"an outside resource ({report.map_seconds:.1f}s)")
    report.candidates = find_candidates(report.touched, config.dist, nodeids)
    observer.step(runner.count, f"{len(report.candidates)} candidate pairs share a resource "
                  "one of them changes")
    durations = {t: (end - start) for t, (start, end) in outcome.times.items()
                 if end is not None}
    prover = Prover(runner, config.suite, config.store_dir, report.touched, durations,
                    lambda t: t in ran and t not in failed, config.rule,
                    lambda message: observer.step(runner.count, message),
                    class_context(nodeids), workers=config.workers)
    replays_began = time.monotonic()
    try:
        prover.prove_all(report.candidates[: config.max_pairs])
    finally:
        report.collisions = prover.results
        report.replay_seconds = time.monotonic() - replays_began
