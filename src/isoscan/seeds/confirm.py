"""Confirm before judging: replay what the matrix suggests, then give each suspect a verdict.

For a test that failed somewhere: run it alone; replay the exact order its own process (or
xdist worker) ran before it where it failed, serially and with the same seed context; then
replay that order and run it alone by the stated rule of ``model/confidence.py`` until the
evidence is strong enough (``--confidence``), stopping at the first result that disagrees. A
test that fails at random is called non-deterministic rather than blamed on a polluter, and
each verdict carries the bound its evidence reached.

A trial that did not run the judged test (the suite refused the session or skipped the test,
the session failed to start, or it ended without running it), where no earlier test of the
trial failed (a crash there is only inconclusive), gives no verdict: the test is
*unconfirmed*, with the trial and the line of its output that says why.

A test stopped at its early bound (``execution/timeouts.py``) may only be slow there: the first
run alone and the first replay of each order give the judged test its whole ``--timeout``, so
a verdict that rests on a hang is confirmed once with the full timeout, and an order where the
test merely ran past its early bound is not held against it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from isoscan.model.confidence import DEFAULT_CAP, DEFAULT_CONFIDENCE, Confirmation, Rule, Side
from isoscan.model.matrix import Matrix
from isoscan.model.outcomes import Outcome
from isoscan.model.rows import RunRow
from isoscan.model.verdicts import Evidence, Finding, NotRun, Replay, Verdict
from isoscan.seeds.import_time import ImportTimeCheck, which_alone
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.outcome import TrialOutcome


class Unrun(Exception):
    """A confirmation trial did not run the judged test: no verdict."""

    def __init__(self, why: NotRun) -> None:
        super().__init__(why.describe())
        self.why = why


@dataclass(frozen=True)
class ConfirmOptions:
    confidence: float = DEFAULT_CONFIDENCE  # --confidence
    cap: int = DEFAULT_CAP  # --replays: results of each side at most

    @property
    def rule(self) -> Rule:
        return Rule(self.confidence, self.cap)

    @property
    def replays(self) -> int:
        """How many runs of each side a verdict takes when they all agree: for a check that
        wants a fixed count (the import-time check)."""
        return min(self.cap, max(self.rule.needed()))


def _failed(outcome: Outcome) -> bool:
    return outcome.is_failure


class Confirmer:
    def __init__(self, store: Store, matrix: Matrix, trials: TrialRunner,
                 options: ConfirmOptions, *, imports: ImportTimeCheck | None = None) -> None:
        self.store = store
        self.matrix = matrix
        self.trials = trials
        self.options = options
        self.imports = imports  # the second kind of alone: in its own module (import_time.py)

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
        try:
            verdict = self._judge(nodeid, evidence)
        except Unrun as unrun:
            evidence.unconfirmed = unrun.why
            evidence.note = unrun.why.describe()
            return Finding(nodeid, Verdict.UNCONFIRMED, evidence)
        evidence.note = which_alone(verdict, evidence)
        if verdict in (Verdict.BRITTLE, Verdict.ORDER_DEPENDENT):
            self._also_parallel_only(nodeid, evidence)
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
    def _alone_once(self, nodeid: str, evidence: Evidence, seed: int | None = None, *,
                    full: bool = False) -> Outcome:
        """Alone; with the seed context of a replayed order, since pytest-randomly reseeds
        `random` per test from seed and node id, and a test can fail under one seed in any
        order. ``full``: with its whole --timeout, not its early bound."""
        outcome = self.trials.run([nodeid], seed, full_timeout=[nodeid] if full else ())
        evidence.alone.append(outcome.outcome_of(nodeid).value)
        _check_ran(outcome, nodeid, "running it alone with the whole suite collected")
        return outcome.outcome_of(nodeid)

    def _replay_once(self, nodeid: str, replay: Replay, *, full: bool = False) -> Outcome:
        trial = self.trials.run([*replay.prefix, nodeid], replay.seed,
                                full_timeout=[nodeid] if full else ())
        outcome = trial.outcome_of(nodeid)
        replay.outcomes.append(outcome.value)
        _check_ran(trial, nodeid, f"replaying its order from run #{replay.run_id}")
        return outcome

    def _settle(self, nodeid: str, evidence: Evidence, replay: Replay,
                order: Callable[[Outcome], bool], alone: Callable[[Outcome], bool]
                ) -> Confirmation:
        """The rule over the order (``order`` says whether an outcome there agrees with the
        verdict) and alone (``alone`` likewise), from the first replay and the first run
        alone, which agreed."""
        check = Confirmation(self.options.rule, misbehaved=1, behaved=1)
        check.settle(lambda: order(self._replay_once(nodeid, replay)),
                     lambda: alone(self._alone_once(nodeid, evidence, replay.seed)))
        evidence.confirmation = check
        return check

    def _early_only(self, nodeid: str, run: RunRow) -> bool:
        """Its failure in that run was a stop at its early bound, not a hang shown in full."""
        return self.matrix.cell(nodeid, run.id) is Outcome.TIMEOUT_EARLY

    def _hang_note(self, nodeid: str, first: Outcome, where: str) -> str:
        """Says that a verdict rests on a hang, shown once with the full --timeout."""
        timeout = self.trials.hangs.timeout
        if first is not Outcome.TIMEOUT or timeout is None:  # (a timeout mark of the suite's)
            return ""
        early = self.trials.hangs.bound(nodeid)
        later = f"; later runs stopped it at its early bound ({early:g}s)" if early else ""
        return (f"hangs {where}: ran past the full --timeout ({timeout:g}s) in its first run "
                f"there{later}")

    def _cheapest_first(self, runs: list[RunRow], nodeid: str) -> list[RunRow]:
        """Serial runs before xdist runs, newest first; among the serial ones, first the run
        whose order before the test took the least recorded test time, counted in steps of
        ``COST_STEP`` (below that, orders cost alike and the newest comes first). Every such
        order is evidence alike, but each replay pays what its tests cost (a hang or a slow
        test before the judged one is paid in every replay, and in every trial of the bisect
        that starts from the same order)."""
        def cost(run: RunRow) -> float:
            if run.workers > 0:
                return 0.0
            found = self.store.process_order_before(run.id, nodeid)
            if found is None:
                return math.inf
            results = self.store.results(run.id)
            return math.floor(sum(results[t].duration for t in found[0] if t in results)
                              / COST_STEP)

        return sorted(runs, key=lambda r: (r.workers > 0, cost(r), -r.id))

    def _order_in(self, run: RunRow, nodeid: str) -> Replay | None:
        found = self.store.process_order_before(run.id, nodeid)
        if found is None:
            return None
        prefix, process = found
        return Replay(run_id=run.id, process=process, prefix=prefix, seed=run.seed)

    def _judge(self, nodeid: str, evidence: Evidence) -> Verdict:
        self._alone_once(nodeid, evidence, full=True)
        if not _any_ran(evidence.alone):
            # Not collected on its own (an import error in its module): no trial can run it.
            evidence.note = "could not be run alone"
            return Verdict.NON_DETERMINISTIC if evidence.passed_runs else Verdict.BROKEN
        if _failing(evidence.alone):
            # Alone with the whole suite collected; before brittle or broken, alone in its own
            # module too, as `pytest file::id` runs it.
            verdict = self.imports.judge(nodeid, evidence) if self.imports else None
            return verdict or self._judge_fails_alone(nodeid, evidence)
        return self._judge_passes_alone(nodeid, evidence)

    def _judge_fails_alone(self, nodeid: str, evidence: Evidence) -> Verdict:
        first_alone = Outcome(evidence.alone[0])
        if not evidence.passed_runs:
            hang = self._hang_note(nodeid, first_alone, "alone")
            evidence.note = "; ".join(filter(None, ["failed in every run and alone", hang]))
            return Verdict.BROKEN
        for run in self._cheapest_first(self.matrix.passed_runs(nodeid), nodeid):
            replay = self._order_in(run, nodeid)
            if replay is None:
                continue
            evidence.passing_order = replay
            if self._replay_once(nodeid, replay) is not Outcome.PASSED:
                evidence.note = "fails alone; the order it passed in failed on replay"
                return Verdict.NON_DETERMINISTIC
            check = self._settle(nodeid, evidence, replay, lambda o: o is Outcome.PASSED,
                                 lambda o: o.is_failure)
            why = _disagreement(check, replay.seed, "passes",
                                "fails alone; the order it passed in failed on replay")
            if why:
                evidence.note = why
                return Verdict.NON_DETERMINISTIC
            evidence.note = "; ".join(filter(None, [self._hang_note(nodeid, first_alone, "alone"),
                                                    _capped(check)]))
            return Verdict.BRITTLE
        evidence.note = "fails alone; no recorded order to replay where it passed"
        return Verdict.NON_DETERMINISTIC

    def _judge_passes_alone(self, nodeid: str, evidence: Evidence) -> Verdict:
        failing = self._cheapest_first(self.matrix.failed_runs(nodeid), nodeid)
        serial_failure = any(r.workers == 0 for r in failing)
        slow: list[int] = []  # runs where it only ran past its early bound
        for run in failing:
            replay = self._order_in(run, nodeid)
            if replay is None:
                continue
            evidence.failing_order = replay
            first = self._replay_once(nodeid, replay, full=True)
            if not first.ran:
                continue  # an earlier test crashed the replay: inconclusive, try another run
            if not first.is_failure and self._early_only(nodeid, run):
                slow.append(run.id)  # slow there, not hung: that run does not count against it
                continue
            if not first.is_failure:
                if run.workers > 0 and not serial_failure:
                    return self._parallel_only(nodeid, evidence, run, replay)
                evidence.note = "failed in a recorded order that passes on replay"
                return Verdict.NON_DETERMINISTIC
            check = self._settle(nodeid, evidence, replay, lambda o: o.is_failure,
                                 lambda o: not o.is_failure)
            why = _disagreement(check, replay.seed, "fails", "the same order passed and failed")
            if why:
                evidence.note = why
                return Verdict.NON_DETERMINISTIC
            evidence.note = "; ".join(filter(None, [
                self._hang_note(nodeid, first, "in this order"), _capped(check)]))
            return Verdict.ORDER_DEPENDENT
        if slow:
            runs = ", ".join(f"#{r}" for r in slow)
            evidence.note = (f"slow, not hung: in run(s) {runs} it ran past its early bound "
                             "and was stopped, but it finishes within the full --timeout there")
            return Verdict.STABLE
        evidence.note = "no recorded order to replay"
        return Verdict.NON_DETERMINISTIC

    def _also_parallel_only(self, nodeid: str, evidence: Evidence) -> None:
        """One verdict must not hide another: a brittle or order-dependent test that also
        failed under xdist where its worker's order, replayed serially, passes (as often as
        the rule runs each side) is parallel-only as well. Its order verdict's evidence
        stands whatever these replays give."""
        xdist = sorted((r for r in self.matrix.failed_runs(nodeid) if r.workers > 0),
                       key=lambda r: -r.id)
        for run in xdist[:XDIST_RUNS_CHECKED]:
            replay = self._order_in(run, nodeid)
            if replay is None:
                continue
            try:
                passes = all(self._replay_once(nodeid, replay) is Outcome.PASSED
                             for _ in range(self.options.replays))
            except Unrun:
                return
            if passes:
                evidence.also_parallel_only = replay
                evidence.concurrent = self.store.concurrent(run.id, nodeid)
                also = (f"also parallel-only: it failed under xdist in run #{run.id}, and its "
                        f"worker's order replayed serially passes ({len(replay.outcomes)} of "
                        f"{len(replay.outcomes)})")
                evidence.note = f"{evidence.note}; {also}" if evidence.note else also
                return

    def _parallel_only(self, nodeid: str, evidence: Evidence, run: RunRow,
                       replay: Replay) -> Verdict:
        """Its worker's order passed serially; replayed as often as the rule runs each side
        (the concurrent check itself is ``isoscan bisect``'s, by the same rule)."""
        for _ in range(self.options.replays - 1):
            if self._replay_once(nodeid, replay).is_failure:
                evidence.note = "the same order passed and failed"
                return Verdict.NON_DETERMINISTIC
        evidence.concurrent = self.store.concurrent(run.id, nodeid)
        evidence.note = "its worker's order replayed serially passes"
        return Verdict.PARALLEL_ONLY


COST_STEP = 0.5  # seconds of recorded test time: orders that differ by less cost alike
XDIST_RUNS_CHECKED = 2  # xdist runs it failed in, newest first, checked for parallel-only too


def _disagreement(check: Confirmation, seed: int | None, alone_verb: str, in_order: str
                  ) -> str:
    """Why the rule's replays disagreed ("" when they did not): in the order, or alone, where
    a run under the order's seed that went the other way means the seed decides, not the
    order (pytest-randomly reseeds `random` per test from seed and node id)."""
    if check.contradicted_by is Side.ORDER:
        return in_order
    if check.contradicted_by is not Side.ALONE:
        return ""
    if seed is None:
        return "passed and failed when run alone"
    return (f"{alone_verb} alone under pytest-randomly seed {seed}: it depends on the random "
            "seed, not on the order")


def _capped(check: Confirmation) -> str:
    if check.met:
        return ""
    return (f"the replays agree, but --replays {check.rule.cap} stopped them short of the "
            f"bound asked: {check.summary()}")


def _failing(values: list[str]) -> bool:
    return bool(values) and all(Outcome(v).is_failure for v in values)


def _any_ran(values: list[str]) -> bool:
    return any(Outcome(v).ran for v in values)


def _check_ran(trial: TrialOutcome, nodeid: str, where: str) -> None:
    """Raises ``Unrun`` when ``trial`` did not run ``nodeid`` and no earlier test of it failed
    (after a crash or a hang there the trial is only inconclusive, judged as before). An id
    the session did not collect (a module whose import fails) is judged as before too: no
    session of the suite can run it."""
    outcome = trial.outcome_of(nodeid)
    if nodeid in trial.missing:
        return
    if outcome is not Outcome.SKIPPED and (outcome.ran or any(
            trial.outcome_of(t).is_failure for t in trial.order if t != nodeid)):
        return
    raise Unrun(trial.not_run(nodeid, where))
