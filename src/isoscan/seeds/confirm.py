"""Confirm before judging: replay what the matrix suggests, then give each suspect a verdict.

For a test that failed somewhere: run it alone; replay the exact order its own process (or
xdist worker) ran before it where it failed, serially and with the same seed context; replay
more where results disagree. A verdict is only given on replays that agree, so a test that
fails at random is called non-deterministic rather than blamed on a polluter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from isoscan.model.outcomes import Outcome
from isoscan.model.verdicts import Evidence, Finding, Replay, Verdict
from isoscan.store.db import RunRow, Store
from isoscan.store.matrix import Matrix
from isoscan.trials.base import TrialRunner


@dataclass(frozen=True)
class ConfirmOptions:
    replays: int = 3  # how many times each order is run before results are trusted


def _failed(outcome: Outcome) -> bool:
    return outcome.is_failure


class Confirmer:
    def __init__(self, store: Store, matrix: Matrix, trials: TrialRunner,
                 options: ConfirmOptions) -> None:
        self.store = store
        self.matrix = matrix
        self.trials = trials
        self.options = options

    def confirm_all(self, on_test: Callable[[int, int, str], None] | None = None,
                    on_finding: Callable[[Finding], None] | None = None) -> list[Finding]:
        """Every suspect's finding; ``on_finding`` hears each one as soon as it is reached, so
        an interrupted confirmation keeps what it finished."""
        suspects = self.matrix.suspects()
        findings = []
        for index, nodeid in enumerate(suspects):
            if on_test is not None:
                on_test(index, len(suspects), nodeid)
            finding = self.confirm(nodeid)
            findings.append(finding)
            if on_finding is not None:
                on_finding(finding)
        return findings

    def confirm(self, nodeid: str) -> Finding:
        evidence = Evidence(
            failed_runs=[r.id for r in self.matrix.failed_runs(nodeid)],
            passed_runs=[r.id for r in self.matrix.passed_runs(nodeid)],
        )
        verdict = self._judge(nodeid, evidence)
        if verdict is not Verdict.BROKEN and self._only_at_teardown(nodeid):
            teardown = ("it only ever fails at teardown: pytest reports a module, class or "
                        "session fixture's teardown error on whichever test runs last in that "
                        "scope, so look at the fixtures it shares")
            evidence.note = f"{evidence.note}; {teardown}" if evidence.note else teardown
        return Finding(nodeid, verdict, evidence)

    def _only_at_teardown(self, nodeid: str) -> bool:
        messages = [self.store.results(run.id)[nodeid].message
                    for run in self.matrix.failed_runs(nodeid)]
        return bool(messages) and all(m.startswith("failed on teardown") for m in messages)

    # --------------------------------------------------------------------------------------
    def _alone(self, nodeid: str, evidence: Evidence, times: int) -> None:
        for _ in range(times):
            evidence.alone.append(self.trials.run([nodeid]).outcome_of(nodeid).value)
            if len(set(evidence.alone)) > 1:
                return

    def _replay(self, nodeid: str, replay: Replay, times: int) -> None:
        for _ in range(times):
            outcome = self.trials.run([*replay.prefix, nodeid], replay.seed).outcome_of(nodeid)
            replay.outcomes.append(outcome.value)
            if _mixed(replay.outcomes):
                return

    def _alone_under_seed(self, nodeid: str, seed: int | None,
                          unseeded: Outcome = Outcome.PASSED) -> Outcome:
        """Alone, with the seed context of a replayed order: pytest-randomly reseeds `random`
        per test from seed and node id, so a test can fail under one seed in any order. Without
        a seed there is nothing new to learn: ``unseeded`` is what alone already showed."""
        if seed is None:
            return unseeded
        return self.trials.run([nodeid], seed).outcome_of(nodeid)

    def _order_in(self, run: RunRow, nodeid: str) -> Replay | None:
        found = self.store.process_order_before(run.id, nodeid)
        if found is None:
            return None
        prefix, process = found
        return Replay(run_id=run.id, process=process, prefix=prefix, seed=run.seed)

    def _judge(self, nodeid: str, evidence: Evidence) -> Verdict:
        replays = self.options.replays
        self._alone(nodeid, evidence, 1)
        if not _any_ran(evidence.alone):
            # Not even collected on its own (e.g. an import error in its module).
            evidence.note = "could not be run alone"
            return Verdict.NON_DETERMINISTIC if evidence.passed_runs else Verdict.BROKEN
        if _failing(evidence.alone):
            return self._judge_fails_alone(nodeid, evidence, replays)
        return self._judge_passes_alone(nodeid, evidence, replays)

    def _judge_fails_alone(self, nodeid: str, evidence: Evidence, replays: int) -> Verdict:
        if not evidence.passed_runs:
            evidence.note = "failed in every run and alone"
            return Verdict.BROKEN
        self._alone(nodeid, evidence, replays - 1)
        if _mixed(evidence.alone):
            evidence.note = "passed and failed when run alone"
            return Verdict.NON_DETERMINISTIC
        passing = sorted(self.matrix.passed_runs(nodeid), key=lambda r: r.workers > 0)
        for run in passing:
            replay = self._order_in(run, nodeid)
            if replay is None:
                continue
            evidence.passing_order = replay
            self._replay(nodeid, replay, replays)
            if _all_passed(replay.outcomes):
                if not self._alone_under_seed(nodeid, replay.seed, Outcome.FAILED).is_failure:
                    evidence.note = (f"passes alone under pytest-randomly seed {replay.seed}: "
                                     "it depends on the random seed, not on the order")
                    return Verdict.NON_DETERMINISTIC
                return Verdict.BRITTLE
            evidence.note = "fails alone; the order it passed in failed on replay"
            return Verdict.NON_DETERMINISTIC
        evidence.note = "fails alone; no recorded order to replay where it passed"
        return Verdict.NON_DETERMINISTIC

    def _judge_passes_alone(self, nodeid: str, evidence: Evidence, replays: int) -> Verdict:
        failing = sorted(self.matrix.failed_runs(nodeid), key=lambda r: (r.workers > 0, -r.id))
        serial_failure = any(r.workers == 0 for r in failing)
        for run in failing:
            replay = self._order_in(run, nodeid)
            if replay is None:
                continue
            evidence.failing_order = replay
            self._replay(nodeid, replay, replays)
            if not _any_ran(replay.outcomes):
                continue  # an earlier test crashed the replay: inconclusive, try another run
            if _mixed(replay.outcomes):
                evidence.note = "the same order passed and failed"
                return Verdict.NON_DETERMINISTIC
            if _failing(replay.outcomes):
                self._alone(nodeid, evidence, replays - 1)
                if _mixed(evidence.alone):
                    evidence.note = "passed and failed when run alone"
                    return Verdict.NON_DETERMINISTIC
                if self._alone_under_seed(nodeid, replay.seed).is_failure:
                    evidence.note = (f"fails alone under pytest-randomly seed {replay.seed}: "
                                     "it depends on the random seed, not on the order")
                    return Verdict.NON_DETERMINISTIC
                return Verdict.ORDER_DEPENDENT
            if run.workers > 0 and not serial_failure:
                evidence.concurrent = self.store.concurrent(run.id, nodeid)
                evidence.note = "its worker's order replayed serially passes"
                return Verdict.PARALLEL_ONLY
            evidence.note = "failed in a recorded order that passes on replay"
            return Verdict.NON_DETERMINISTIC
        evidence.note = "no recorded order to replay"
        return Verdict.NON_DETERMINISTIC


def _failing(values: list[str]) -> bool:
    return bool(values) and all(Outcome(v).is_failure for v in values)


def _all_passed(values: list[str]) -> bool:
    return bool(values) and all(v == Outcome.PASSED.value for v in values)


def _mixed(values: list[str]) -> bool:
    ran = [Outcome(v) for v in values if Outcome(v).ran and Outcome(v) is not Outcome.SKIPPED]
    return any(o.is_failure for o in ran) and any(not o.is_failure for o in ran)


def _any_ran(values: list[str]) -> bool:
    return any(Outcome(v).ran for v in values)
