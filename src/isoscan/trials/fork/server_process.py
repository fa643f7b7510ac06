"""The fork server as isoscan sees it: one pytest process started with the server plugin
(``server.py``), its two pipes (requests in, events out), waiting for it to be ready, and
stopping it (``client.py``'s ``ForkTrials`` drives it; ``children.py`` follows its forks)."""

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isoscan.errors import PYTEST_REASONS, SuiteError
from isoscan.execution.argv import NO_INI_RECORD, RUN_TAIL, Suite, cache_args
from isoscan.execution.process import POLL_SECONDS, child_env, kill_group, log_tail
from isoscan.trials.fork.protocol import READY, SESSION_FAILED, TrialRequest, write_all

SERVER_PLUGIN = "isoscan.trials.fork.server"
SNAPSHOT_PLUGIN = "isoscan.explain.plugin"
SHUTDOWN_SECONDS = 30.0  # for the server's own session finish once isoscan is done with it
ABANDON_SECONDS = 5.0  # the same after an interrupt: the user is waiting


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
