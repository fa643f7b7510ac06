"""Fork trials (``ForkTrials``): one pytest process per session imports and collects the suite
once; every trial then runs in a fresh fork of it. ``server.py`` is the pytest side,
``server_process.py`` starts and stops that process, ``children.py`` follows its forks, and
docs/fork-trials.md says what a fork shares with its parent.

Each trial is stored as a run exactly like a ``SubprocessTrials`` one: the same folder layout
(``seg0/order.txt``, ``records/``, ``output.log``), the same event files, merged by the same code
of ``runner.py``; its ``argv`` is the subprocess command that would reproduce it.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from isoscan.errors import SuiteError
from isoscan.execution.argv import Ordering, Suite, pytest_argv
from isoscan.execution.interrupts import interrupts_deferred
from isoscan.execution.process import POLL_SECONDS
from isoscan.execution.runner import RunResult, finish_result, merge_segment, write_order_file
from isoscan.execution.timeouts import HangBook, RunTimeouts, hang_limit
from isoscan.model.status import OrderingKind, RunPurpose, RunStatus
from isoscan.store.db import Store
from isoscan.trials.base import TrialMode, TrialRunner
from isoscan.trials.fork.children import ChildExit, Children, combined_exit_code, read_child_events
from isoscan.trials.fork.protocol import (
    EXITED,
    TrialRequest,
    child_events,
    child_records,
    lane_log,
    lane_records,
)
from isoscan.trials.fork.scan_checks import read_checks
from isoscan.trials.fork.server_process import ServerGone, ServerProcess, SessionRefused
from isoscan.trials.lanes import Lane, write_lane_orders, write_schedule
from isoscan.trials.outcome import TrialOutcome
from isoscan.trials.scan import ScanResult, ScanStop
from isoscan.trials.subprocess_trials import SubprocessTrials, trial_outcome

SCAN_CHECKPOINTS = 32  # victim checks along one scan: the cut it gives is ~N/32 tests long
# Fork trials that ran no test, checked as a subprocess before isoscan trusts forks or gives
# them up: a suite that refuses every session costs this many extra pytest start-ups at most.
VET_TRIALS = 2




@dataclass(frozen=True)
class _TrialFiles:
    segdir: Path
    records: Path
    order: Path
    log: Path

    @classmethod
    def create(cls, run_dir: Path, order: list[str]) -> _TrialFiles:
        segdir = run_dir / "seg0"
        files = cls(segdir, segdir / "records", segdir / "order.txt", segdir / "output.log")
        files.records.mkdir(parents=True, exist_ok=True)
        write_order_file(files.order, order)
        files.log.touch()
        return files


class ForkTrials(TrialRunner):
    """A ``TrialRunner`` whose trials are forks of one collected pytest session.

    The server starts on the first trial (or ``collected()``). If it reports threads alive
    after collection, forking would copy a process whose other threads vanish (and whose locks
    they may hold), so every trial falls back to ``SubprocessTrials``; ``fallback_reason``
    says why and ``on_fallback`` hears it once.
    """

    def __init__(self, suite: Suite, store: Store, session_id: int, purpose: RunPurpose, *,
                 on_fallback: Callable[[str], None] | None = None,
                 hangs: HangBook | None = None) -> None:
        super().__init__(suite, store, session_id, purpose, hangs)
        self.hang_seconds = hang_limit(suite.timeout)
        self.on_fallback = on_fallback
        self.fallback_reason: str | None = None
        self._fallback: SubprocessTrials | None = None
        self._server: ServerProcess | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._collected: list[str] | None = None
        self._vetted = False  # a fork trial executed a test: the suite runs in forks
        self._vet_checks = 0
        self.prerewritten = 0  # test files rewritten on a second core while the server started

    # TrialRunner ----------------------------------------------------------------------------
    def run(self, order: Sequence[str], seed: int | None = None, *,
            full_timeout: Collection[str] = ()) -> TrialOutcome:
        server = self._started()
        if server is None:
            return self._run_fallback(order, seed, full_timeout)
        wanted = list(order)
        timeouts = self.hangs.timeouts(full_timeout)
        outcome = self._stored(wanted, seed, lambda run_dir: self._execute(
            server, wanted, seed, run_dir, timeouts=timeouts))
        self.count += 1
        if self._vetted or outcome.executed():
            self._vetted = True
            return outcome
        return self._vet(outcome, seed, full_timeout)

    def _vet(self, outcome: TrialOutcome, seed: int | None,
             full_timeout: Collection[str]) -> TrialOutcome:
        """A fork trial that executed no test, before any fork trial did: the same trial once
        as a fresh subprocess. If that one executes a test, the suite's session hooks cannot
        be run per fork (they refuse, or fail, in a fork of a collected session): every later
        trial runs as a subprocess, and this trial's answer is the subprocess's. If it too
        runs nothing, the suite refuses either way, and the fork trial's answer stands.
        ``VET_TRIALS`` such checks at most."""
        if self._vet_checks >= VET_TRIALS:
            return outcome
        self._vet_checks += 1
        fresh = SubprocessTrials(self.suite, self.store, self.session_id, self.purpose,
                                 self.hangs).run(outcome.order, seed, full_timeout=full_timeout)
        self.count += 1
        if fresh.executed():
            line = outcome.log_line()
            self._end(graceful=True)
            self._fall_back(
                "the suite's session hooks do not run in a fork of a collected session (a "
                "fork trial ran no test where a fresh pytest ran them"
                + (f"; the fork's log: {line}" if line else "") + ")")
        return fresh

    @property
    def mode(self) -> TrialMode:
        return TrialMode.FORK if self.fallback_reason is None else TrialMode.SUBPROCESS

    def scan(self, tests: Sequence[str], victim: str, seed: int | None = None, *,
             stop: ScanStop = ScanStop.FAILS, checkpoints: int = SCAN_CHECKPOINTS
             ) -> ScanResult | None:
        """Runs ``tests`` then ``victim`` as one trial in which, at up to ``checkpoints``
        points, the victim also runs right there in a fork of its own (``scan_chain.py``); the
        trial ends early once a checkpoint's victim fails (``stop``: or passes). None when
        trials do not fork (the fallback has no scan)."""
        server = self._started()
        if server is None:
            return None
        order = [*tests, victim]
        asked: list[TrialRequest] = []
        timeouts = self.hangs.timeouts()

        def as_scan(request: TrialRequest) -> TrialRequest:
            asked.append(replace(request, scan=True, stop=stop, checkpoints=checkpoints,
                                 hang_seconds=hang_limit(timeouts.of(victim))))
            return asked[-1]

        outcome = self._stored(order, seed, lambda run_dir: self._execute(
            server, order, seed, run_dir, adjust=as_scan, timeouts=timeouts))
        self.count += 1
        checks = read_checks(asked[0], victim, outcome, len(order) - 1) if asked else []
        return ScanResult(outcome, checks)

    def run_concurrent(self, lanes: Sequence[Lane], seed: int | None = None, *,
                       full_timeout: Collection[str] = (), workers: int = 0) -> TrialOutcome:
        """Each lane in a fork of its own, all forked at once and paced by the lanes'
        timetable; one stored run whose segments are the lanes."""
        server = self._started()
        if server is None:
            assert self._fallback is not None
            outcome = self._fallback.run_concurrent(lanes, seed, full_timeout=full_timeout,
                                                    workers=workers)
            self.count += 1
            return outcome
        order = [test for lane in lanes for test in lane.tests]
        timeouts = self.hangs.timeouts(full_timeout)

        def execute(run_dir: Path) -> RunResult:
            orders = write_lane_orders(run_dir, lanes)
            request = TrialRequest(self.count, orders[0], lane_records(orders[0]),
                                   lane_log(orders[0]), seed, jobs=len(lanes),
                                   lanes=tuple(orders),
                                   schedule=write_schedule(run_dir, lanes, workers),
                                   resources=True, timeouts=_timeouts_file(run_dir, timeouts))
            exits = self._supervise(server, request, total=len(lanes),
                                    hang_for=timeouts.hang_limits())
            ordering = Ordering(OrderingKind.EXPLICIT, seed)
            result = RunResult(ordering=ordering, workers=len(lanes))
            for child in sorted(exits, key=lambda c: c.index):
                lane = orders[child.index]
                argv = pytest_argv(self.suite, ordering, 0, record_dir=lane_records(lane),
                                   order_file=lane)
                segment = child.segment(replace(request, log=lane_log(lane)), argv)
                result.segments.append(segment)
                result.seconds = max(result.seconds, segment.seconds)
                merge_segment(result, segment)
            finish_result(result, timeouts)
            return result

        outcome = self._stored(order, seed, execute, workers=len(lanes))
        self.count += 1
        return outcome

    def snapshot(self, order: Sequence[str], spec: Path, workdir: Path,
                 seed: int | None = None) -> RunResult | None:
        """``isoscan explain``'s run as a fork of the collected session: ``order`` (the
        polluters, then the victim) with the snapshot plugin of ``spec`` running the loop;
        its files go under ``workdir``. Not a trial of the bisect, nor a stored run. None
        when trials do not fork."""
        server = self._started()
        if server is None:
            return None
        return self._execute(server, list(order), seed, workdir,
                             adjust=lambda request: replace(request, snapshot=spec))

    def run_alone(self, nodeids: Sequence[str], seed: int | None = None, *, jobs: int = 1,
                  on_exit: Callable[[int, int], None] | None = None) -> TrialOutcome:
        """Runs each id alone, each in a fork of its own (``jobs`` at a time), as ONE stored run
        whose segments are the children; far cheaper than a trial per id. ``on_exit(done,
        total)`` follows progress. Falls back to one subprocess trial per id."""
        outcomes: list[TrialOutcome] = []
        self.run_alone_chunks([nodeids], seed, jobs=jobs, on_exit=on_exit,
                              on_chunk=outcomes.append)
        return outcomes[0]

    def run_alone_chunks(self, chunks: Sequence[Sequence[str]], seed: int | None = None, *,
                         jobs: int = 1, on_exit: Callable[[int, int], None] | None = None,
                         on_chunk: Callable[[TrialOutcome], None]) -> None:
        """``run_alone`` over each chunk in turn, one stored run each, ``on_chunk`` hearing
        each stored chunk in order; ``on_exit(done, total)`` counts over all chunks. Pipelined:
        as soon as a chunk's children are done, the next chunk goes to the server, and isoscan
        stores the finished one while the server forks (no core idles between chunks).

        Ctrl-C keeps what is complete: every stored chunk, and in the chunk under way each
        child that had exited (the rest of its ids are ``not-run``); ``on_chunk`` hears that
        partial chunk too before ``KeyboardInterrupt`` goes on."""
        total = sum(len(chunk) for chunk in chunks)
        done_before = 0

        def counted(done: int, _: int) -> None:
            if on_exit is not None:
                on_exit(done_before + done, total)

        server = self._started()
        if server is None:
            for chunk in chunks:
                on_chunk(self._alone_by_trials(list(chunk), seed, counted))
                done_before += len(chunk)
            return
        finished: _AloneRun | None = None  # its children are done; its run is not stored
        current: _AloneRun | None = None  # sent to the server, children under way
        try:
            pending: list[Sequence[str] | None] = [*chunks, None]  # None: store the last
            for ids in pending:
                current = None if ids is None else self._send_alone(server, list(ids), seed,
                                                                      jobs)
                if finished is not None:
                    with interrupts_deferred():  # stored and heard once, or not at all
                        on_chunk(self._store_alone(finished))
                        finished = None
                if current is None:
                    return
                self._follow(server, current.children, counted)
                self.count += 1
                done_before += len(current.order)
                finished, current = current, None
        except KeyboardInterrupt:
            # Wherever it came: the server ends its children (``_follow`` has done so if it
            # came there), then what is complete is stored.
            self._end(graceful=False, interrupted=True)
            for run, cut_short in ((finished, False), (current, True)):
                if run is not None:
                    on_chunk(self._store_alone(run, interrupted=cut_short))
            raise
        except BaseException:
            for run in (finished, current):
                if run is not None:
                    self.store.abort_run(run.run_id)
            raise

    def _send_alone(self, server: ServerProcess, order: list[str], seed: int | None,
                    jobs: int) -> _AloneRun:
        run_id, run_dir = self.store.start_run(self.session_id, self.purpose,
                                               OrderingKind.EXPLICIT, seed, 0)
        files = _TrialFiles.create(run_dir, order)
        request = TrialRequest(self.count, files.order, files.records, files.log, seed,
                               alone=True, jobs=jobs)
        children = Children(request, len(order), self.hang_seconds)
        try:
            self._send(server, children)
        except SuiteError:
            self.store.abort_run(run_id)
            raise
        return _AloneRun(run_id, order, seed, request, children, time.monotonic())

    def _store_alone(self, run: _AloneRun, *, interrupted: bool = False) -> TrialOutcome:
        result = self._alone_result(run.request, run.order, run.seed, run.children.exits,
                                    run.started)
        if interrupted:
            result.status = RunStatus.INTERRUPTED  # as ``Store.abort_run`` marks a run cut short
        self.store.finish_run(run.run_id, result)
        return trial_outcome(run.order, result, run.run_id)

    def _alone_by_trials(self, nodeids: list[str], seed: int | None,
                         on_exit: Callable[[int, int], None] | None) -> TrialOutcome:
        merged = TrialOutcome(order=nodeids)
        codes: list[int] = []
        for done, nodeid in enumerate(nodeids, start=1):
            trial = self._run_fallback([nodeid], seed)
            merged.outcomes.update(trial.outcomes)
            merged.missing += trial.missing
            codes.append(trial.exit_code)
            if on_exit is not None:
                on_exit(done, len(nodeids))
        merged.exit_code = combined_exit_code(codes)
        return merged

    def collected(self) -> list[str]:
        """The node ids the server collected, in collection order."""
        self._started()
        return list(self._collected or [])

    @property
    def server_pid(self) -> int | None:
        return self._server.pid if self._server is not None else None

    def close(self) -> None:
        """Ends the server (it finishes its own session) and removes its folder."""
        self._end(graceful=True)

    def __enter__(self) -> ForkTrials:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------
    def _started(self) -> ServerProcess | None:
        if self._server is not None or self._fallback is not None:
            return self._server
        server = ServerProcess(self.suite)
        self._server = server
        # Even if nobody calls close(), the server is ended and its folder removed.
        self._finalizer = weakref.finalize(self, server.close)
        try:
            ready = server.start()
        except SessionRefused as refused:
            self._end(graceful=False)
            self._fall_back(f"the suite stopped the fork server's session start ({refused})")
            return None
        except BaseException:
            self._end(graceful=False)
            raise
        self._collected = ready.collected
        self.prerewritten = ready.prerewritten
        if ready.threads:
            self._end(graceful=True)
            shown = ", ".join(ready.threads[:3]) + (", …" if len(ready.threads) > 3 else "")
            self._fall_back(f"the suite has {len(ready.threads)} thread(s) running after "
                            f"collection ({shown}); forking would lose them")
        return self._server

    def _end(self, *, graceful: bool, interrupted: bool = False) -> None:
        server, self._server = self._server, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if server is None:
            return
        if interrupted:
            server.stop()
        elif graceful:
            server.close()
        else:
            server.kill()

    def _fall_back(self, reason: str) -> None:
        self.fallback_reason = f"{reason}; each trial runs in a fresh subprocess"
        self._fallback = SubprocessTrials(self.suite, self.store, self.session_id, self.purpose,
                                          self.hangs)
        if self.on_fallback is not None:
            self.on_fallback(self.fallback_reason)

    def _run_fallback(self, order: Sequence[str], seed: int | None,
                      full_timeout: Collection[str] = ()) -> TrialOutcome:
        assert self._fallback is not None
        outcome = self._fallback.run(order, seed, full_timeout=full_timeout)
        self.count += 1
        return outcome

    def _stored(self, order: list[str], seed: int | None,
                execute: Callable[[Path], RunResult], workers: int = 0) -> TrialOutcome:
        with self.store.recording_run(self.session_id, self.purpose, OrderingKind.EXPLICIT, seed,
                                      workers) as run:
            result = execute(run.dir)
            run.finish(result)
        self.hangs.learn(result.results.values())
        return trial_outcome(order, result, run.id)

    def _execute(self, server: ServerProcess, order: list[str], seed: int | None,
                 run_dir: Path, *,
                 adjust: Callable[[TrialRequest], TrialRequest] | None = None,
                 timeouts: RunTimeouts | None = None) -> RunResult:
        files = _TrialFiles.create(run_dir, order)
        ordering = Ordering(OrderingKind.EXPLICIT, seed)
        limits = _timeouts_file(files.segdir, timeouts)
        argv = pytest_argv(self.suite, ordering, 0, record_dir=files.records,
                           order_file=files.order, timeouts_file=limits)
        request = TrialRequest(self.count, files.order, files.records, files.log, seed,
                               timeouts=limits)
        if adjust is not None:  # a scan's or a snapshot's request
            request = adjust(request)
        hang_for = timeouts.hang_limits() if timeouts is not None else None
        (child,) = self._supervise(server, request, hang_for=hang_for)
        segment = child.segment(request, argv)
        result = RunResult(ordering=ordering, workers=0, segments=[segment],
                           seconds=segment.seconds)
        # The same merge as a subprocess trial: a started, unfinished test is crashed or
        # timeout, the rest of the order not-run.
        merge_segment(result, segment)
        finish_result(result, timeouts)
        return result

    def _alone_result(self, request: TrialRequest, order: list[str], seed: int | None,
                      exits: list[ChildExit], started: float) -> RunResult:
        """The run of an ``alone`` request from its children that exited: a segment each."""
        known = set(self._collected or [])
        result = RunResult(ordering=Ordering(OrderingKind.EXPLICIT, seed), workers=0,
                           collected=[n for n in order if n in known])
        shared = read_child_events(child_events(request))
        for child in sorted(exits, key=lambda c: c.index):
            argv = alone_argv(self.suite, order[child.index], seed,
                              child_records(request, child.index))
            segment = child.segment(request, argv, shared.get(child.index, []))
            result.segments.append(segment)
            merge_segment(result, segment)
        result.seconds = time.monotonic() - started
        finish_result(result)
        return result

    def _supervise(self, server: ServerProcess, request: TrialRequest, total: int = 1,
                   on_exit: Callable[[int, int], None] | None = None,
                   hang_for: Mapping[str, float] | None = None) -> list[ChildExit]:
        """Sends the request and follows its children until the server says done;
        ``hang_for``: tests with a hang limit of their own (an early bound)."""
        children = Children(request, total, self.hang_seconds, hang_for)
        self._send(server, children)
        self._follow(server, children, on_exit)
        return children.exits

    def _send(self, server: ServerProcess, children: Children) -> None:
        try:
            server.send(children.request)
        except ServerGone:
            self._lost(server, children)

    def _lost(self, server: ServerProcess, children: Children) -> NoReturn:
        error = server.failure(f"the fork server died during trial {children.request.trial}")
        children.kill_all()
        self._end(graceful=False)
        raise error from None

    def _follow(self, server: ServerProcess, children: Children,
                on_exit: Callable[[int, int], None] | None) -> None:
        """Follows a sent request's children until the server says done; kills the group of
        a child whose test outlives the hang limit."""
        try:
            while True:
                event = server.next_event(POLL_SECONDS)
                if event is not None and children.apply(event):
                    return
                if event is not None and on_exit is not None and event.get("e") == EXITED:
                    on_exit(len(children.exits), children.total)
                children.kill_hung()
        except ServerGone:
            self._lost(server, children)
        except BaseException:
            # An interrupt: the server ends its children (and reaps them), then itself; a later
            # trial would start a new one.
            children.kill_all()
            self._end(graceful=False, interrupted=True)
            raise


def _timeouts_file(folder: Path, timeouts: RunTimeouts | None) -> Path | None:
    """The early bounds of a trial, written where its files are; None when there are none."""
    if timeouts is None or not timeouts.early:
        return None
    return timeouts.write(folder / "timeouts.json")


def alone_argv(suite: Suite, nodeid: str, seed: int | None, record_dir: Path) -> list[str]:
    """The subprocess command that runs ``nodeid`` alone in the same seed context."""
    ordering = (Ordering(OrderingKind.COLLECTED) if seed is None
                else Ordering(OrderingKind.RANDOM, seed))
    return pytest_argv(replace(suite, paths=(nodeid,)), ordering, 0, record_dir=record_dir)


@dataclass(frozen=True)
class _AloneRun:
    """A chunk of ``run_alone_chunks`` sent to the server: its stored run and its children."""

    run_id: int
    order: list[str]
    seed: int | None
    request: TrialRequest
    children: Children
    started: float
