"""One planned run of the suite: a pytest subprocess, resumed in a fresh process after a crash
or a hang, so every collected test gets a cell in the matrix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from isoscan.execution import records
from isoscan.execution.argv import Ordering, Suite, pytest_argv
from isoscan.execution.junit import CaseResult, JUnitReadError, read_junit
from isoscan.execution.process import Progress, log_tail, run_pytest
from isoscan.execution.timeouts import RunTimeouts, hang_limit, mark_early
from isoscan.model.outcomes import Outcome
from isoscan.model.status import OrderingKind, RunStatus

# pytest exit codes that mean the tests ran (0 all passed, 1 some failed).
RAN = (0, 1)


@dataclass
class Segment:
    """One pytest process (with its xdist workers, if any) of a run."""

    index: int
    argv: list[str]
    exit_code: int
    killed_for_hang: bool
    processes: list[records.ProcessRecord]
    junit: Path | None
    log: Path
    seconds: float
    hung: tuple[str, ...] = ()  # tests the watchdog saw running too long (when it killed)


@dataclass
class RunResult:
    ordering: Ordering
    workers: int
    segments: list[Segment] = field(default_factory=list)
    results: dict[str, CaseResult] = field(default_factory=dict)
    collected: list[str] = field(default_factory=list)
    status: RunStatus = RunStatus.OK
    exit_code: int = 0
    seconds: float = 0.0

    @property
    def processes(self) -> list[records.ProcessRecord]:
        return [p for s in self.segments for p in s.processes]

    def output_tail(self, lines: int = 25) -> str:
        if not self.segments:
            return ""
        return log_tail(self.segments[0].log, lines)


def execute_run(
    suite: Suite,
    ordering: Ordering,
    workers: int,
    workdir: Path,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    junit: bool = True,
    resume: bool = True,
    explicit: list[str] | None = None,
    timeouts: RunTimeouts | None = None,
) -> RunResult:
    """Run the suite once; with ``resume``, a crash or hang is followed by a fresh process that
    runs the rest of the same order (a bisect trial must not resume: the victim's result would
    no longer follow its whole prefix). ``timeouts``: early bounds for some tests."""
    result = RunResult(ordering=ordering, workers=workers)
    current = ordering
    remaining: list[str] | None = explicit
    while True:
        segment = run_segment(suite, current, workers, workdir, len(result.segments), remaining,
                              on_progress, junit, timeouts)
        result.segments.append(segment)
        result.seconds += segment.seconds
        progressed = merge_segment(result, segment)
        if not resume or (segment.exit_code in RAN and not segment.killed_for_hang):
            break
        if not result.collected or not progressed:
            break
        remaining = [t for t in result.collected if t not in result.results]
        if not remaining:
            break
        # Resume with the rest of the same order, in a fresh process, same seed context.
        current = Ordering(OrderingKind.EXPLICIT, ordering.seed)
    finish_result(result, timeouts)
    return result


def run_segment(
    suite: Suite,
    ordering: Ordering,
    workers: int,
    workdir: Path,
    index: int,
    explicit: list[str] | None,
    on_progress: Callable[[Progress], None] | None,
    junit: bool,
    timeouts: RunTimeouts | None = None,
) -> Segment:
    """One pytest process of a run, in ``workdir/seg<index>``."""
    segdir = workdir / f"seg{index}"
    record_dir = segdir / "records"
    record_dir.mkdir(parents=True, exist_ok=True)
    order_file = None
    if explicit is not None:
        order_file = segdir / "order.txt"
        write_order_file(order_file, explicit)
    junit_path = segdir / "junit.xml" if junit else None
    early = timeouts.early if timeouts is not None else {}
    timeouts_file = timeouts.write(segdir / "timeouts.json") if timeouts and early else None
    argv = pytest_argv(suite, ordering, workers, record_dir=record_dir, junit_path=junit_path,
                       order_file=order_file, timeouts_file=timeouts_file)
    proc = run_pytest(argv, cwd=suite.cwd, log_path=segdir / "output.log", record_dir=record_dir,
                      hang_seconds=hang_limit(suite.timeout), on_progress=on_progress,
                      hang_for=timeouts.hang_limits() if timeouts and early else None)
    return Segment(
        index=index,
        argv=argv,
        exit_code=proc.exit_code,
        killed_for_hang=proc.killed_for_hang,
        processes=records.read_record_dir(record_dir),
        junit=junit_path if junit_path is not None and junit_path.is_file() else None,
        log=segdir / "output.log",
        seconds=proc.seconds,
        hung=proc.hung,
    )


def write_order_file(path: Path, nodeids: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{n}\n" for n in nodeids), encoding="utf-8")


def merge_segment(result: RunResult, segment: Segment) -> bool:
    """Fold a segment's outcomes into the run; True if any test got a result."""
    before = len(result.results)
    if not result.collected:
        for process in segment.processes:
            if process.collected:
                result.collected = list(process.collected)
                break
    known = [e.nodeid for p in segment.processes for e in p.executions] or result.collected
    from_junit: dict[str, CaseResult] = {}
    if segment.junit is not None:
        try:
            from_junit = read_junit(segment.junit, known)
        except JUnitReadError:
            from_junit = {}
    for process in segment.processes:
        for execution in process.executions:
            nodeid = execution.nodeid
            if nodeid in from_junit:
                result.results[nodeid] = from_junit.pop(nodeid)
            elif execution.finished is not None:
                outcome = Outcome(execution.outcome or "passed")
                result.results[nodeid] = CaseResult(nodeid, outcome, execution.duration,
                                                    execution.message)
            elif segment.hung and nodeid not in segment.hung:
                continue  # running beside the hung test when the group was killed: resumed
            else:
                # Started, never finished: the process died or hung in this test.
                outcome = Outcome.TIMEOUT if segment.killed_for_hang else Outcome.CRASHED
                message = ("killed by isoscan's hang watchdog" if segment.killed_for_hang
                           else f"the test process died (exit code {segment.exit_code})")
                result.results[nodeid] = CaseResult(nodeid, outcome, 0.0, message)
    # JUnit cases with no recorded execution (e.g. a worker crash report made by xdist).
    for nodeid, case in from_junit.items():
        result.results.setdefault(nodeid, case)
    return len(result.results) > before


def finish_result(result: RunResult, timeouts: RunTimeouts | None = None) -> None:
    """The run's status and exit code from its segments; a test stopped at its early bound in
    ``timeouts`` is ``timeout-early``."""
    if timeouts is not None:
        mark_early(result.results, timeouts.early)
    codes = [s.exit_code for s in result.segments]
    abnormal = [c for c in codes if c not in RAN]
    result.exit_code = abnormal[0] if abnormal else max(codes, default=0)
    outcomes = {r.outcome for r in result.results.values()}
    if not result.results and abnormal:
        result.status = RunStatus.ERROR
    elif any(s.killed_for_hang for s in result.segments) or any(o.is_hang for o in outcomes):
        result.status = RunStatus.TIMEOUT
    elif abnormal or Outcome.CRASHED in outcomes:
        result.status = RunStatus.CRASHED
    elif any(o.is_failure for o in outcomes):
        result.status = RunStatus.FAILED
    else:
        result.status = RunStatus.OK
    for nodeid in result.collected:
        result.results.setdefault(nodeid, CaseResult(nodeid, Outcome.NOT_RUN, 0.0, ""))
