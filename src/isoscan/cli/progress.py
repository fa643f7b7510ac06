"""Live progress for ``seeds``: a transient bar on terminals, one line per run everywhere."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from isoscan.console import console
from isoscan.execution.process import Progress as RunProgress
from isoscan.execution.runner import RunResult
from isoscan.model.coverage import PlanCoverage
from isoscan.model.outcomes import Outcome
from isoscan.report.terminal.ids import print_ids
from isoscan.seeds.planned_runs import PlannedRun


class ConsoleObserver:
    def __init__(self) -> None:
        self.total = 0
        self.failures = 0
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failures]} failures"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task("", total=None, failures=0)

    def plan(self, plan: list[PlannedRun], coverage: PlanCoverage | None) -> None:
        self.total = len(plan)
        console.print(f"Plan: {len(plan)} runs (order × workers), each a fresh pytest process:")
        for n, planned in enumerate(plan, start=1):
            console.print(f"  #{n:<3} {planned.label()}")
        if coverage is not None:
            console.print(coverage.describe())
        self.bar.start()

    def run_started(self, index: int, planned: PlannedRun) -> None:
        self.bar.update(self.task, description=f"run {index + 1}/{self.total} {planned.label()}",
                        completed=0, total=None, failures=self.failures)

    def run_progress(self, progress: RunProgress) -> None:
        self.bar.update(self.task, completed=progress.finished, total=progress.collected,
                        failures=self.failures + progress.failures)

    def run_finished(self, index: int, planned: PlannedRun, run_id: int,
                     result: RunResult) -> None:
        failed = sum(1 for r in result.results.values() if r.outcome.is_failure)
        self.failures += failed
        passed = sum(1 for r in result.results.values() if r.outcome is Outcome.PASSED)
        console.print(
            f"run {index + 1}/{self.total} [{planned.label()}]: {result.status}, "
            f"{passed} passed, {failed} failed, {result.seconds:.1f}s"
        )

    def confirming(self, index: int, total: int, nodeid: str) -> None:
        if index == 0:
            console.print(f"Confirming {total} tests that failed somewhere (alone, then replayed)")
        self.bar.update(self.task, description=f"confirm {index + 1}/{total} {nodeid}",
                        completed=index, total=total, failures=self.failures)

    def bisecting(self, index: int, total: int, nodeid: str) -> None:
        print_ids(f"Bisecting {index + 1}/{total}: {nodeid}")

    def step(self, trials: int, message: str) -> None:
        self.bar.update(self.task, description=f"[trial {trials}] {message}"[:70])

    def notice(self, message: str) -> None:
        console.print(f"note: {message}", style="yellow")

    def close(self) -> None:
        self.bar.stop()
