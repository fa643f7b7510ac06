"""Fork trials: one pytest process per session imports and collects the suite once; every trial
then runs in a fresh fork of it (see ``forkserver.py`` for the pytest side and
docs/fork-trials.md for what a fork shares with its parent).

Each trial is stored as a run exactly like a ``SubprocessTrials`` one: the same folder layout
(``seg0/order.txt``, ``records/``, ``output.log``), the same event files, merged by the same code
of ``runner.py``; its ``argv`` is the subprocess command that would reproduce it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from isoscan import records
from isoscan.errors import SuiteError
from isoscan.fork_protocol import DONE, READY, STARTED, TrialRequest
from isoscan.process import POLL_SECONDS, RecordWatcher, child_env
from isoscan.pytest_cmd import EXPLICIT, Ordering, Suite, pytest_argv
from isoscan.runner import (
    RunResult,
    Segment,
    _finish,
    _merge_segment,
    hang_limit,
    write_order_file,
)
from isoscan.store import Store
from isoscan.trials import SubprocessTrials, TrialOutcome, _trial_outcome

SERVER_PLUGIN = "isoscan.forkserver"
SHUTDOWN_SECONDS = 30.0  # for the server's own session finish once isoscan is done with it

# pytest's exit codes when the server stops before it is ready.
_PYTEST_REASONS = {
    1: "pytest stopped before running any trial",
    2: "pytest was interrupted (often errors during collection)",
    3: "pytest hit an internal error",
    4: "pytest rejected its command line",
    5: "pytest collected no tests",
}


def fork_unavailable() -> str | None:
    """Why this platform cannot run fork trials, or None when it can."""
    if os.name != "posix" or not hasattr(os, "fork"):
        return f"os.fork is not available on this platform ({sys.platform})"
    return None


class ServerGone(Exception):
    """The server's event pipe closed: the server process ended."""


def server_argv(suite: Suite, requests_fd: int, events_fd: int) -> list[str]:
    """The server's command line: like ``pytest_argv``'s (the user's args first, isoscan's
    last so they win), with pytest-randomly loaded but not reordering, so each trial can pick
    its own seed context or none."""
    argv = [suite.python, "-m", "pytest", *suite.paths, *suite.pytest_args]
    argv += ["-p", "isoscan.plugin", "-p", SERVER_PLUGIN,
             f"--isoscan-forkserver={requests_fd},{events_fd}"]
    argv += ["-p", "randomly", "--randomly-seed=0", "--randomly-dont-reorganize"]
    argv += ["-p", "xdist", "-n", "0"]
    if suite.timeout:
        argv += ["-p", "timeout", f"--timeout={suite.timeout:g}", "--timeout-method=signal"]
    argv += ["--maxfail=0", "-q", "-p", "no:cacheprovider"]
    return argv


class _Lines:
    """JSON lines read from a pipe without blocking past a timeout."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()

    def next(self, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
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
        self.argv = server_argv(self.suite, requests_r, events_w)
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
        while True:
            try:
                event = self.next_event(POLL_SECONDS)
            except ServerGone:
                raise self.failure("the suite could not run", before_ready=True) from None
            if event is not None and event.get("e") == READY:
                return Ready([str(i) for i in event.get("collected", [])],
                             [str(t) for t in event.get("threads", [])])

    def send(self, request: TrialRequest) -> None:
        if self.requests is None:
            raise ServerGone
        data = request.encode()
        try:
            while data:
                data = data[os.write(self.requests, data):]
        except BrokenPipeError:
            raise ServerGone from None

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        if self.events is None:
            raise ServerGone
        return self.events.next(timeout)

    def failure(self, message: str, *, before_ready: bool = False) -> SuiteError:
        """The error for a server that ended: its exit code's meaning and its output's tail."""
        code = self.proc.wait() if self.proc is not None else None
        if before_ready and code in _PYTEST_REASONS:
            reason = _PYTEST_REASONS[code]
        else:
            reason = f"the pytest fork server exited with code {code}"
        return SuiteError(f"{message}: {reason}", detail=self.tail())

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        """Closing the request pipe ends the server's loop; it finishes its session and exits."""
        if self.requests is not None:
            with contextlib.suppress(OSError):
                os.close(self.requests)
            self.requests = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=SHUTDOWN_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.events is not None:
            with contextlib.suppress(OSError):
                os.close(self.events.fd)
            self.events = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


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


class ForkTrials:
    """A ``TrialRunner`` whose trials are forks of one collected pytest session.

    The server starts on the first trial (or ``collected()``). If it reports threads alive
    after collection, forking would copy a process whose other threads vanish (and whose locks
    they may hold), so every trial falls back to ``SubprocessTrials``; ``fallback_reason``
    says why and ``on_fallback`` hears it once.
    """

    def __init__(self, suite: Suite, store: Store, session_id: int, purpose: str, *,
                 on_fallback: Callable[[str], None] | None = None) -> None:
        self.suite = suite
        self.store = store
        self.session_id = session_id
        self.purpose = purpose
        self.trials = 0
        self.hang_seconds = hang_limit(suite.timeout)
        self.on_fallback = on_fallback
        self.fallback_reason: str | None = None
        self._fallback: SubprocessTrials | None = None
        self._server: ServerProcess | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._collected: list[str] | None = None

    # TrialRunner ----------------------------------------------------------------------------
    def run(self, order: Sequence[str], seed: int | None = None) -> TrialOutcome:
        server = self._started()
        if server is None:
            return self._run_fallback(order, seed)
        wanted = list(order)
        run_id, run_dir = self.store.start_run(self.session_id, self.purpose, EXPLICIT, seed, 0)
        try:
            result = self._execute(server, wanted, seed, run_dir)
        except BaseException:
            self.store.abort_run(run_id)
            raise
        self.store.finish_run(run_id, result)
        self.trials += 1
        return _trial_outcome(wanted, result, run_id)

    # optional extras -------------------------------------------------------------------------
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
        except BaseException:
            self._end(graceful=False)
            raise
        self._collected = ready.collected
        if ready.threads:
            self._end(graceful=True)
            self._fall_back(ready.threads)
        return self._server

    def _end(self, *, graceful: bool) -> None:
        server, self._server = self._server, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if server is not None:
            if graceful:
                server.close()
            else:
                server.kill()

    def _fall_back(self, threads: list[str]) -> None:
        shown = ", ".join(threads[:3]) + (", …" if len(threads) > 3 else "")
        self.fallback_reason = (
            f"the suite has {len(threads)} thread(s) running after collection ({shown}); "
            "forking would lose them, so each trial runs in a fresh subprocess"
        )
        self._fallback = SubprocessTrials(self.suite, self.store, self.session_id, self.purpose)
        if self.on_fallback is not None:
            self.on_fallback(self.fallback_reason)

    def _run_fallback(self, order: Sequence[str], seed: int | None) -> TrialOutcome:
        assert self._fallback is not None
        outcome = self._fallback.run(order, seed)
        self.trials += 1
        return outcome

    def _execute(self, server: ServerProcess, order: list[str], seed: int | None,
                 run_dir: Path) -> RunResult:
        files = _TrialFiles.create(run_dir, order)
        ordering = Ordering(EXPLICIT, seed)
        argv = pytest_argv(self.suite, ordering, 0, record_dir=files.records,
                           order_file=files.order)
        request = TrialRequest(self.trials, files.order, files.records, files.log, seed)
        started = time.monotonic()
        exit_code, killed = self._supervise(server, request)
        segment = Segment(index=0, argv=argv, exit_code=exit_code, killed_for_hang=killed,
                          processes=records.read_record_dir(files.records), junit=None,
                          log=files.log, seconds=time.monotonic() - started)
        result = RunResult(ordering=ordering, workers=0, segments=[segment],
                           seconds=segment.seconds)
        # The same merge as a subprocess trial: a started, unfinished test is crashed or
        # timeout, the rest of the order not-run.
        _merge_segment(result, segment)
        _finish(result)
        return result

    def _supervise(self, server: ServerProcess, request: TrialRequest) -> tuple[int, bool]:
        """Waits for the child to end; kills its group when a test outlives the hang limit."""
        watcher = RecordWatcher(request.records)
        child: int | None = None
        killed = False
        try:
            server.send(request)
            while True:
                event = server.next_event(POLL_SECONDS)
                if event is None:
                    if child is not None and not killed and self._hung(watcher):
                        kill_group(child)
                        killed = True
                elif event.get("e") == STARTED:
                    child = int(event["pid"])
                elif event.get("e") == DONE:
                    return int(event["status"]), killed
        except ServerGone:
            error = server.failure(f"the fork server died during trial {request.trial}")
            self._abandon(child)
            raise error from None
        except BaseException:
            self._abandon(child)
            raise

    def _hung(self, watcher: RecordWatcher) -> bool:
        if self.hang_seconds is None:
            return False
        watcher.poll()
        oldest = watcher.oldest_running()
        return oldest is not None and time.monotonic() - oldest > self.hang_seconds

    def _abandon(self, child: int | None) -> None:
        """After an interrupt or the server's death: end the child and the server; a later
        trial starts a new server."""
        if child is not None:
            kill_group(child)
        self._end(graceful=False)
