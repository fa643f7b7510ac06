"""Fork trials: one pytest process per session imports and collects the suite once; every trial
then runs in a fresh fork of it (see ``server.py`` for the pytest side and
docs/fork-trials.md for what a fork shares with its parent).

Each trial is stored as a run exactly like a ``SubprocessTrials`` one: the same folder layout
(``seg0/order.txt``, ``records/``, ``output.log``), the same event files, merged by the same code
of ``runner.py``; its ``argv`` is the subprocess command that would reproduce it.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from isoscan.errors import PYTEST_REASONS, SuiteError
from isoscan.execution import records
from isoscan.execution.argv import (
    NO_INI_RECORD,
    RUN_TAIL,
    Ordering,
    Suite,
    cache_args,
    pytest_argv,
)
from isoscan.execution.interrupts import interrupts_deferred
from isoscan.execution.process import (
    POLL_SECONDS,
    RecordWatcher,
    child_env,
    kill_group,
    log_tail,
    pid_alive,
)
from isoscan.execution.runner import (
    RAN,
    RunResult,
    Segment,
    finish_result,
    merge_segment,
    write_order_file,
)
from isoscan.execution.timeouts import HangBook, RunTimeouts, hang_limit
from isoscan.model.status import OrderingKind, RunPurpose, RunStatus
from isoscan.store.db import Store
from isoscan.trials.base import TrialMode, TrialRunner
from isoscan.trials.fork.protocol import (
    CHILD_INDEX,
    DONE,
    EXITED,
    READY,
    SESSION_FAILED,
    STARTED,
    TrialRequest,
    child_events,
    child_records,
    lane_log,
    lane_records,
    write_all,
)
from isoscan.trials.fork.scan_checks import read_checks
from isoscan.trials.lanes import Lane, write_lane_orders, write_schedule
from isoscan.trials.outcome import TrialOutcome
from isoscan.trials.scan import ScanResult, ScanStop
from isoscan.trials.subprocess_trials import SubprocessTrials, trial_outcome

SERVER_PLUGIN = "isoscan.trials.fork.server"
SNAPSHOT_PLUGIN = "isoscan.explain.plugin"
SHUTDOWN_SECONDS = 30.0  # for the server's own session finish once isoscan is done with it
ABANDON_SECONDS = 5.0  # the same after an interrupt: the user is waiting
SCAN_CHECKPOINTS = 32  # victim checks along one scan: the cut it gives is ~N/32 tests long
# Fork trials that ran no test, checked as a subprocess before isoscan trusts forks or gives
# them up: a suite that refuses every session costs this many extra pytest start-ups at most.
VET_TRIALS = 2


def fork_unavailable() -> str | None:
    """Why this platform cannot run fork trials, or None when it can."""
    if os.name != "posix" or not hasattr(os, "fork"):
        return f"os.fork is not available on this platform ({sys.platform})"
    return None


class ServerGone(Exception):
    """The server's event pipe closed: the server process ended."""


class SessionRefused(Exception):
    """The suite stopped the server's own session start (``pytest.exit``, an error in a
    ``pytest_sessionstart`` hook); ``str()`` is what stopped it."""


def server_argv(suite: Suite, requests_fd: int, events_fd: int, workdir: Path) -> list[str]:
    """The server's command line: like ``pytest_argv``'s (the user's args first, isoscan's
    last so they win), with pytest-randomly loaded but not reordering, so each trial can pick
    its own seed context or none."""
    argv = [suite.python, "-m", "pytest", *suite.paths, *suite.pytest_args]
    # The snapshot plugin is inert until a request asks for a snapshot (``isoscan explain``).
    argv += ["-p", "isoscan.plugin", *NO_INI_RECORD, "-p", SNAPSHOT_PLUGIN, "-p", SERVER_PLUGIN,
             f"--isoscan-forkserver={requests_fd},{events_fd}", f"--isoscan-scratch={workdir}"]
    argv += ["-p", "randomly", "--randomly-seed=0", "--randomly-dont-reorganize"]
    argv += ["-p", "xdist", "-n", "0"]
    if suite.timeout:
        argv += ["-p", "timeout", f"--timeout={suite.timeout:g}", "--timeout-method=signal"]
    argv += RUN_TAIL
    argv += cache_args(workdir)
    return argv


class _Lines:
    """JSON lines read from a pipe without blocking past a timeout."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()
        self.selector = selectors.DefaultSelector()
        self.selector.register(fd, selectors.EVENT_READ)

    def close(self) -> None:
        self.selector.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def next(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                return None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise ServerGone
            self.buffer += chunk
        end = self.buffer.index(b"\n")
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        value = json.loads(line)
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Ready:
    collected: list[str]
    threads: list[str]
    prerewritten: int = 0  # test files the server's helper rewrote for it (``prerewrite.py``)


class ServerProcess:
    """The pytest process that collected the suite and forks a child per trial."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.workdir = Path(tempfile.mkdtemp(prefix="isoscan-fork-"))
        self.log = self.workdir / "server.log"
        self.argv: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.requests: int | None = None
        self.events: _Lines | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> Ready:
        requests_r, requests_w = os.pipe()
        events_r, events_w = os.pipe()
        self.requests, self.events = requests_w, _Lines(events_r)
        self.argv = server_argv(self.suite, requests_r, events_w, self.workdir)
        try:
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(
                    self.argv, cwd=self.suite.cwd, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, env=child_env(), start_new_session=True,
                    pass_fds=(requests_r, events_w),
                )
        finally:
            os.close(requests_r)
            os.close(events_w)
        return self._await_ready()

    def _await_ready(self) -> Ready:
        refused: str | None = None
        while True:
            try:
                event = self.next_event(POLL_SECONDS)
            except ServerGone:
                if refused is not None:
                    self.close(ABANDON_SECONDS)
                    raise SessionRefused(refused) from None
                raise self.failure("the suite could not run", before_ready=True) from None
            if event is not None and event.get("e") == SESSION_FAILED:
                refused = str(event.get("reason", ""))
            if event is not None and event.get("e") == READY:
                return Ready([str(i) for i in event.get("collected", [])],
                             [str(t) for t in event.get("threads", [])],
                             int(event.get("prerewritten", 0)))

    def send(self, request: TrialRequest) -> None:
        if self.requests is None:
            raise ServerGone
        try:
            write_all(self.requests, request.encode())
        except BrokenPipeError:
            raise ServerGone from None

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        if self.events is None:
            raise ServerGone
        return self.events.next(timeout)

    def failure(self, message: str, *, before_ready: bool = False) -> SuiteError:
        """The error for a server that ended: its exit code's meaning and its output's tail."""
        code = self.proc.wait() if self.proc is not None else None
        if before_ready and code in PYTEST_REASONS:
            reason = PYTEST_REASONS[code]
        else:
            reason = f"the pytest fork server exited with code {code}"
        return SuiteError(f"{message}: {reason}", detail=self.tail())

    def tail(self, lines: int = 25) -> str:
        return log_tail(self.log, lines)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            kill_group(self.proc.pid)
        self.close()

    def stop(self) -> None:
        """Abandons the current request: the server kills and reaps its children, forks no
        more, and ends once the request pipe is closed."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.proc.pid, signal.SIGTERM)
        self.close(ABANDON_SECONDS)

    def close(self, wait: float = SHUTDOWN_SECONDS) -> None:
        """Closing the request pipe ends the server's loop; it finishes its session and exits."""
        if self.requests is not None:
            with contextlib.suppress(OSError):
                os.close(self.requests)
            self.requests = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                kill_group(self.proc.pid)
                self.proc.wait()
        if self.events is not None:
            self.events.close()
            self.events = None
        shutil.rmtree(self.workdir, ignore_errors=True)


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
        self.trials += 1
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
        self.trials += 1
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
        self.trials += 1
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
            self.trials += 1
            return outcome
        order = [test for lane in lanes for test in lane.tests]
        timeouts = self.hangs.timeouts(full_timeout)

        def execute(run_dir: Path) -> RunResult:
            orders = write_lane_orders(run_dir, lanes)
            request = TrialRequest(self.trials, orders[0], lane_records(orders[0]),
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
        self.trials += 1
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
                self.trials += 1
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
        request = TrialRequest(self.trials, files.order, files.records, files.log, seed,
                               alone=True, jobs=jobs)
        children = _Children(request, len(order), self.hang_seconds)
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
        self.trials += 1
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
        request = TrialRequest(self.trials, files.order, files.records, files.log, seed,
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
        children = _Children(request, total, self.hang_seconds, hang_for)
        self._send(server, children)
        self._follow(server, children, on_exit)
        return children.exits

    def _send(self, server: ServerProcess, children: _Children) -> None:
        try:
            server.send(children.request)
        except ServerGone:
            self._lost(server, children)

    def _lost(self, server: ServerProcess, children: _Children) -> NoReturn:
        error = server.failure(f"the fork server died during trial {children.request.trial}")
        children.kill_all()
        self._end(graceful=False)
        raise error from None

    def _follow(self, server: ServerProcess, children: _Children,
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


def combined_exit_code(codes: list[int]) -> int:
    """As for a resumed run: the first abnormal exit code, else the worst of 0 and 1."""
    abnormal = [code for code in codes if code not in RAN]
    return abnormal[0] if abnormal else max(codes, default=0)


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
    children: _Children
    started: float


@dataclass(frozen=True)
class ChildExit:
    index: int
    pid: int
    exit_code: int
    killed_for_hang: bool
    seconds: float

    def segment(self, request: TrialRequest, argv: list[str],
                events: list[dict[str, Any]] | None = None) -> Segment:
        """``events``: what the child of an ``alone`` request wrote to ``child_events``."""
        processes = records.read_record_dir(child_records(request, self.index))
        if events:
            processes = sorted([_child_process(events, self.pid), *processes],
                               key=lambda p: p.name)
        return Segment(index=self.index, argv=argv, exit_code=self.exit_code,
                       killed_for_hang=self.killed_for_hang, processes=processes,
                       junit=None, log=request.log, seconds=self.seconds)


def read_child_events(path: Path) -> dict[int, list[dict[str, Any]]]:
    """The events of each child of an ``alone`` request, by child index, from the file they
    share. A line cut short by a killed child, then continued by another child's line, loses
    only its own part."""
    by_child: dict[int, list[dict[str, Any]]] = {}
    try:
        data = path.read_bytes()
    except OSError:
        return by_child
    for event in _child_lines(data[: data.rfind(b"\n") + 1]):
        by_child.setdefault(int(event[CHILD_INDEX]), []).append(event)
    return by_child


def _child_lines(data: bytes) -> list[dict[str, Any]]:
    tag = b"{" + json.dumps(CHILD_INDEX).encode() + b":"
    events = []
    for line in data.splitlines():
        for start in (0, line.rfind(tag)):
            try:
                event = json.loads(line[start:])
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get(CHILD_INDEX), int):
                events.append(event)
            break
    return events


def _child_process(events: list[dict[str, Any]], pid: int) -> records.ProcessRecord:
    """The record a child's own event file would have given: named ``<worker>-<pid>``."""
    worker = next((str(e["worker"]) for e in events if e.get("e") == records.HELLO
                   and "worker" in e), records.MAIN)
    return records.process_record(f"{worker}-{pid}", events)


class _Children:
    """The children of one request as the server reports them, and a hang watchdog over them:
    only a child running longer than ``WATCH_AFTER`` has its event file read."""

    WATCH_AFTER = 1.0

    def __init__(self, request: TrialRequest, total: int, hang_seconds: float | None,
                 hang_for: Mapping[str, float] | None = None) -> None:
        self.request = request
        self.total = total
        self.hang_seconds = hang_seconds
        self.hang_for = hang_for
        self.running: dict[int, tuple[int, float, RecordWatcher]] = {}
        self.killed: set[int] = set()
        self.exits: list[ChildExit] = []
        self.checked = time.monotonic()
        self.shared = _ChildTail(child_events(request)) if request.alone else None

    def apply(self, event: dict[str, Any]) -> bool:
        """Takes in one event; True when the request is done."""
        kind = event.get("e")
        if kind == STARTED:
            index = int(event["index"])
            watcher = RecordWatcher(child_records(self.request, index))
            self.running[int(event["pid"])] = (index, time.monotonic(), watcher)
        elif kind == EXITED:
            pid = int(event["pid"])
            index, started, _ = self.running.pop(pid, (int(event["index"]), time.monotonic(), None))
            self.exits.append(ChildExit(index, pid, int(event["status"]), pid in self.killed,
                                        time.monotonic() - started))
        return kind == DONE

    def kill_hung(self) -> None:
        now = time.monotonic()
        if self.hang_seconds is None or now - self.checked < POLL_SECONDS:
            return
        self.checked = now
        shared_read = False
        for pid, (index, started, watcher) in self.running.items():
            if pid in self.killed or now - started < self.WATCH_AFTER:
                continue
            watcher.poll()
            hung = bool(watcher.hung(self.hang_seconds, self.hang_for))
            oldest = None
            if self.shared is not None:
                if not shared_read:
                    self.shared.poll()
                    shared_read = True
                own = self.shared.running.get(index)
                if own is not None and pid_alive(pid):
                    oldest = own
            if hung or (oldest is not None and now - oldest > self.hang_seconds):
                kill_group(pid)
                self.killed.add(pid)

    def kill_all(self) -> None:
        for pid in self.running:
            kill_group(pid)


class _ChildTail:
    """Follows the ``child_events`` file of an ``alone`` request for the hang watchdog, as a
    ``RecordWatcher`` follows event files: since when (as first seen) each child runs its
    test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.running: dict[int, float] = {}  # child index -> when its running test was seen

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self.offset)
                chunk = stream.read()
        except OSError:
            return
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        self.offset += end + 1
        now = time.monotonic()
        for event in _child_lines(chunk[: end + 1]):
            index = int(event[CHILD_INDEX])
            if event.get("e") == records.START:
                self.running[index] = now
            elif event.get("e") == records.FINISH:
                self.running.pop(index, None)
