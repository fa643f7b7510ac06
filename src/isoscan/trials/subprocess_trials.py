"""Trials as fresh pytest subprocesses: each pays start-up and collection again."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import replace

from isoscan.errors import SuiteError
from isoscan.execution.argv import Ordering, Suite
from isoscan.execution.process import child_env
from isoscan.execution.runner import (
    RunResult,
    Segment,
    execute_run,
    finish_result,
    merge_segment,
    run_segment,
)
from isoscan.execution.timeouts import HangBook
from isoscan.model.status import OrderingKind, RunPurpose
from isoscan.plugin.names import LANE_ENV
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.lanes import Lane, write_schedule
from isoscan.trials.outcome import TrialOutcome


class SubprocessTrials(TrialRunner):
    """One pytest subprocess per trial."""

    def __init__(self, suite: Suite, store: Store, session_id: int, purpose: RunPurpose,
                 hangs: HangBook | None = None) -> None:
        super().__init__(suite, store, session_id, purpose, hangs)

    def run(self, order: Sequence[str], seed: int | None = None, *,
            full_timeout: Collection[str] = ()) -> TrialOutcome:
        ordering = Ordering(OrderingKind.EXPLICIT, seed)
        with self.store.recording_run(self.session_id, self.purpose, ordering.kind, seed) as run:
            result = execute_run(self.suite, ordering, 0, run.dir, junit=False, resume=False,
                                 explicit=list(order), timeouts=self.hangs.timeouts(full_timeout))
            run.finish(result)
        self.hangs.learn(result.results.values())
        self.count += 1
        return trial_outcome(list(order), result, run.id)


    def run_concurrent(self, lanes: Sequence[Lane], seed: int | None = None, *,
                       full_timeout: Collection[str] = (), workers: int = 0) -> TrialOutcome:
        """One pytest process per lane, as xdist starts one per worker, all started together
        and paced by the lanes' timetable; each lane knows its index (``LANE_ENV``), so it
        takes on the worker id the schedule gives it. A thread per lane only waits for its
        process and watches it for hangs."""
        order = [test for lane in lanes for test in lane.tests]
        ordering = Ordering(OrderingKind.EXPLICIT, seed)
        with self.store.recording_run(self.session_id, self.purpose, ordering.kind, seed,
                                      len(lanes)) as run:
            run_dir = run.dir
            schedule = write_schedule(run_dir, lanes, workers)
            paced = replace(self.suite, pytest_args=(
                *self.suite.pytest_args, f"--isoscan-schedule={schedule}", "--isoscan-resources"))
            segments: list[Segment | None] = [None] * len(lanes)
            timeouts = self.hangs.timeouts(full_timeout)

            def lane(index: int) -> None:
                env = {**child_env(), LANE_ENV: str(index)}
                segments[index] = run_segment(paced, ordering, 0, run_dir, index,
                                              list(lanes[index].tests), None, False, timeouts,
                                              env)

            threads = [threading.Thread(target=lane, args=(i,), daemon=True)
                       for i in range(len(lanes))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            result = RunResult(ordering=ordering, workers=len(lanes))
            for segment in segments:
                if segment is None:
                    raise SuiteError("a lane of a concurrent replay did not run")
                result.segments.append(segment)
                result.seconds = max(result.seconds, segment.seconds)
                merge_segment(result, segment)
            finish_result(result, timeouts)
            run.finish(result)
        self.hangs.learn(result.results.values())
        self.count += 1
        return trial_outcome(order, result, run.id)


def trial_outcome(order: list[str], result: RunResult, run_id: int) -> TrialOutcome:
    missing = [m for p in result.processes for m in p.missing]
    executions = [e for p in result.processes for e in p.executions]
    return TrialOutcome(
        order=order,
        outcomes={n: r.outcome for n, r in result.results.items()},
        exit_code=result.exit_code,
        run_id=run_id,
        missing=missing,
        times={e.nodeid: (e.started, e.finished) for e in executions},
        touched={e.nodeid: e.touched for e in executions if e.touched},
        messages={n: r.message for n, r in result.results.items() if r.message},
        logs=[segment.log for segment in result.segments],
    )
