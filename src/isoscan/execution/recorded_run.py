"""An ordinary pytest run recorded by isoscan's plugin (``pytest -p isoscan.plugin
--isoscan-record=DIR``, or the ``isoscan_record`` ini option), read back from DIR, perhaps on
another machine: what ``isoscan bisect VICTIM --from DIR`` starts from.

Every check says what is wrong in one line (a usage error, exit 2), and all but the last run
before anything is written to a store: a folder with no records, the records of two runs
mixed, a victim that did not fail in the run or whose outcome the record lost, a different
commit; then, once the suite is collected here, ids that no longer collect.

A process killed while it wrote leaves a partial last line, which is ignored. The victim's
outcome is lost only when the record stops while the victim ran: its file was cut short
there (its last line is incomplete), or the whole run stopped there (the job was killed: the
run's first process recorded no end). When the run went on and ended, the worker died in the
victim, and xdist replaced it: the victim crashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from isoscan.errors import UsageError
from isoscan.execution import records
from isoscan.execution.argv import Ordering
from isoscan.execution.git import git_head
from isoscan.execution.records import Execution, ProcessRecord
from isoscan.execution.runner import RunResult, Segment, finish_result, merge_segment
from isoscan.model.outcomes import Outcome
from isoscan.model.status import OrderingKind

HOW_TO_RECORD = "record a run with `pytest --isoscan-record=DIR`"
SHOWN = 3  # ids named in an error line before "(+N more)"


@dataclass(frozen=True)
class RecordedRun:
    directory: Path
    files: tuple[Path, ...]  # every event file of the run, the xdist controller's too
    processes: tuple[ProcessRecord, ...]  # those that ran tests: serial, or each xdist worker
    seed: int | None  # pytest-randomly's, None when it was not active
    workers: int  # xdist workers, 0 for a serial run
    git_head: str | None  # the commit the run was on, when it ran in a git checkout
    ended: bool  # the run's first process (serial, or the xdist controller) recorded its end
    exit_status: int | None  # pytest's exit status, when it ended

    @property
    def ids(self) -> list[str]:
        """Every test the run collected (or ran), in the order its processes collected them."""
        found: dict[str, None] = {}
        for process in self.processes:
            found.update(dict.fromkeys(process.collected or ()))
            found.update(dict.fromkeys(process.order))
        return list(found)

    @property
    def label(self) -> str:
        """``seed 42, -n 2, 2 of 120 tests failed``."""
        seed = f"seed {self.seed}" if self.seed is not None else "no seed"
        failed = len(self.failed())
        return f"{seed}, -n {self.workers}, {failed} of {len(self.ids)} tests failed"

    def failed(self) -> list[str]:
        return [e.nodeid for p in self.processes for e in p.executions
                if e.finished is not None and _outcome(e).is_failure]

    def _last_run(self, nodeid: str) -> tuple[ProcessRecord, Execution] | None:
        found = None
        for process in self.processes:
            for execution in process.executions:
                if execution.nodeid == nodeid and (found is None
                                                   or execution.started >= found[1].started):
                    found = (process, execution)
        return found

    def outcome_of(self, nodeid: str) -> Outcome:
        """The test's outcome in the run; a usage error when it did not run or the record lost
        its outcome."""
        where = self._last_run(nodeid)
        if where is None:
            if nodeid in self.ids:
                raise UsageError(f"{nodeid} was collected but never ran in the run recorded in "
                                 f"{self.directory}")
            raise UsageError(f"{nodeid} is not a test of the run recorded in {self.directory} "
                             f"({len(self.ids)} tests){_failed_hint(self.failed())}")
        process, execution = where
        if execution.finished is not None:
            return _outcome(execution)
        path = self.directory / f"{process.name}{records.SUFFIX}"
        if _cut_short(path):
            raise UsageError(f"{path} is cut short (its last line is incomplete) while {nodeid} "
                             f"ran: its outcome is lost")
        if not self.ended:
            raise UsageError(f"the record stops while {nodeid} was running (the job was killed, "
                             f"or {path.name} was cut short): its outcome is unknown")
        return Outcome.CRASHED  # the run went on without its worker: it died in this test

    def require_failed(self, victim: str) -> None:
        outcome = self.outcome_of(victim)
        if not outcome.is_failure:
            raise UsageError(f"{victim} {outcome.value} in the run recorded in {self.directory}: "
                             f"nothing to bisect{_failed_hint(self.failed())}")

    def require_commit(self, cwd: Path) -> str | None:
        """A usage error when this checkout is at another commit than the run; a note (to show)
        when either side is not a git checkout, so the commits cannot be compared."""
        if self.git_head is None:
            return (f"the run recorded in {self.directory} names no commit (it did not run in a "
                    "git checkout): this checkout is not compared with it")
        here = git_head(cwd)
        if here is None:
            return "this folder is not in a git checkout: it is not compared with the recorded run"
        if here != self.git_head:
            raise UsageError(f"{self.directory} was recorded at commit {self.git_head[:12]}, this "
                             f"checkout is at {here[:12]}: `git checkout {self.git_head}` first")
        return None

    def require_collected(self, collected: Sequence[str]) -> None:
        here = set(collected)
        missing = [nodeid for nodeid in self.ids if nodeid not in here]
        if missing:
            more = f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""
            raise UsageError(f"{len(missing)} of the {len(self.ids)} tests of the run recorded in "
                             f"{self.directory} are not collected here: {missing[0]}{more}; "
                             "another commit, or other PATHS or pytest args than that run's")

    def run_result(self, log: Path) -> RunResult:
        """The run as isoscan's own runs are stored: outcomes and each process's order."""
        started = [e.started for p in self.processes for e in p.executions]
        finished = [e.finished for p in self.processes for e in p.executions
                    if e.finished is not None]
        seconds = max(finished) - min(started) if started and finished else 0.0
        status = self.exit_status if self.exit_status is not None else -1
        segment = Segment(index=0, argv=[], exit_code=status, killed_for_hang=False,
                          processes=list(self.processes), junit=None, log=log, seconds=seconds)
        result = RunResult(Ordering(OrderingKind.RECORDED, self.seed), self.workers,
                           segments=[segment], seconds=seconds)
        merge_segment(result, segment)
        finish_result(result)
        return result


def read_recorded_run(directory: Path) -> RecordedRun:
    """The run recorded in ``directory``; a usage error when it holds none, or several."""
    if not directory.is_dir():
        raise UsageError(f"no such folder: {directory}")
    paths = sorted(directory.glob(f"*{records.SUFFIX}"))
    if not paths:
        raise UsageError(f"no isoscan records (*{records.SUFFIX}) in {directory}: "
                         f"{HOW_TO_RECORD}")
    found = [(path, _read(path)) for path in paths]
    runs: dict[str | None, list[str]] = {}
    for path, record in found:
        runs.setdefault(record.run, []).append(path.name)
    if None in runs:
        raise UsageError(f"{directory / runs[None][0]} does not start as isoscan's recorder "
                         "starts a file (cut short at its start, or not a record of a pytest run)")
    if len(runs) > 1:
        groups = "; ".join(_names(names) for names in runs.values())
        raise UsageError(f"{directory} mixes the records of {len(runs)} pytest runs ({groups}): "
                         "record each run into a folder of its own")
    runners = tuple(record for _, record in found if record.role != "controller")
    if not runners:
        raise UsageError(f"{directory} holds no record of a process that ran tests (the xdist "
                         "workers never started)")
    for record in runners:
        for execution in record.executions:
            if execution.finished is not None:
                _outcome(execution)  # a damaged outcome is named here, not met later
    first = next((record for _, record in found if record.worker == records.MAIN), None)
    workers = next((r.workers for r in runners if r.workers is not None),
                   len({r.worker for r in runners} - {records.MAIN}))
    return RecordedRun(
        directory=directory, files=tuple(paths), processes=runners, seed=runners[0].seed,
        workers=workers, git_head=first.git_head if first else None,
        ended=first is not None and first.end_status is not None,
        exit_status=first.end_status if first else None)


def read_for_victim(directory: Path, victim: str, cwd: Path) -> tuple[RecordedRun, str | None]:
    """The checks that need no pytest run: the recorded run, in which ``victim`` failed, on the
    commit ``cwd`` is at; and a note when the commits could not be compared."""
    recorded = read_recorded_run(directory)
    recorded.require_failed(victim)
    return recorded, recorded.require_commit(cwd)


def _read(path: Path) -> ProcessRecord:
    try:
        return records.read_process_file(path)
    except (KeyError, TypeError, ValueError) as exc:  # a line of the right kind, missing a field
        raise UsageError(f"{path} is damaged: an event lacks {exc}") from exc


def _outcome(execution: Execution) -> Outcome:
    try:
        return Outcome(execution.outcome or Outcome.PASSED.value)
    except ValueError as exc:
        raise UsageError(f"a damaged record: {execution.nodeid} has the outcome "
                         f"{execution.outcome!r}") from exc


def _cut_short(path: Path) -> bool:
    """Whether the file's last line is incomplete: the recorder writes whole lines only."""
    with open(path, "rb") as stream:
        stream.seek(0, 2)
        if stream.tell() == 0:
            return True
        stream.seek(-1, 2)
        return stream.read(1) != b"\n"


def _names(names: list[str]) -> str:
    more = f" (+{len(names) - SHOWN} more)" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def _failed_hint(failed: list[str]) -> str:
    if not failed:
        return "; no test failed in that run"
    return f"; it failed: {_names(failed)}"
