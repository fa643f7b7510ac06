"""Confirm before judging: replay what the matrix suggests, then give each suspect a verdict.

For a test that failed somewhere: run it alone; replay the exact order its own process (or
xdist worker) ran before it where it failed, serially and with the same seed context; replay
more where results disagree. A verdict is only given on replays that agree, so a test that
fails at random is called non-deterministic rather than blamed on a polluter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from isoscan.matrix import Matrix
from isoscan.outcomes import Outcome
from isoscan.store import RunRow, Store
from isoscan.trials import TrialRunner
from isoscan.verdicts import Evidence, Finding, Replay, Verdict


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

    def confirm_all(self, on_test: Callable[[int, int, str], None] | None = None
                    ) -> list[Finding]:
        suspects = self.matrix.suspects()
        findings = []
        for index, nodeid in enumerate(suspects):
            if on_test is not None:
                on_test(index, len(suspects), nodeid)
            findings.append(self.confirm(nodeid))
        return findings

    def confirm(self, nodeid: str) -> Finding:
        evidence = Evidence(
            failed_runs=[r.id for r in self.matrix.failed_runs(nodeid)],
            passed_runs=[r.id for r in self.matrix.passed_runs(nodeid)],
        )
        verdict = self._judge(nodeid, evidence)
        return Finding(nodeid, verdict, evidence)

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

    def _order_in(self, run: RunRow, nodeid: str) -> Replay | None:
        found = self.store.process_order_before(run.id, nodeid)
        if found is None:
            return None
        prefix, process = found
        return Replay(run_id=run.id, process=process, prefix=prefix, seed=run.seed)

    def _judge(self, nodeid: str, evidence: Evidence) -> Verdict:
        replays = self.options.replays
        self._alone(nodeid, evidence, 1)
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
                return Verdict.ORDER_DEPENDENT
            if run.workers > 0 and not serial_failure:
                evidence.concurrent = self._concurrent(run, nodeid)
                evidence.note = "its worker's order replayed serially passes"
                return Verdict.PARALLEL_ONLY
            evidence.note = "failed in a recorded order that passes on replay"
            return Verdict.NON_DETERMINISTIC
        evidence.note = "no recorded order to replay"
        return Verdict.NON_DETERMINISTIC

    def _concurrent(self, run: RunRow, nodeid: str) -> list[str]:
        """Tests other workers were running while this one ran, from the recorded timings."""
        executions = self.store.executions(run.id)
        mine = [e for e in executions if e.nodeid == nodeid and e.started is not None]
        if not mine:
            return []
        victim = mine[-1]
        start = victim.started or 0.0
        end = victim.finished if victim.finished is not None else float("inf")
        found = []
        for e in executions:
            if e.process == victim.process or e.started is None:
                continue
            e_end = e.finished if e.finished is not None else float("inf")
            if e.started < end and e_end > start:
                found.append(e.nodeid)
        return found


def _failing(values: list[str]) -> bool:
    return bool(values) and all(Outcome(v).is_failure for v in values)


def _all_passed(values: list[str]) -> bool:
    return bool(values) and all(v == Outcome.PASSED.value for v in values)


def _mixed(values: list[str]) -> bool:
    ran = [Outcome(v) for v in values if Outcome(v).ran and Outcome(v) is not Outcome.SKIPPED]
    return any(o.is_failure for o in ran) and any(not o.is_failure for o in ran)


def _any_ran(values: list[str]) -> bool:
    return any(Outcome(v).ran for v in values)
