"""Running one pytest subprocess in its own process group, with a hang watchdog.

The watchdog reads the plugin's event files while pytest runs: a test that has been running
far past the per-test timeout (a hang pytest-timeout could not interrupt, e.g. inside C code)
gets the whole process group killed. Ctrl-C kills the group too, then propagates.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from isoscan.execution import records
from isoscan.model.outcomes import Outcome

POLL_SECONDS = 0.2


@dataclass
class Progress:
    started: int = 0
    finished: int = 0
    failures: int = 0
    collected: int | None = None


@dataclass
class _Tail:
    offset: int = 0
    running: dict[str, float] = field(default_factory=dict)


class RecordWatcher:
    """Follows the event files of one run incrementally."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.tails: dict[Path, _Tail] = {}
        self.progress = Progress()

    def poll(self) -> Progress:
        if self.directory.is_dir():
            for path in self.directory.glob(f"*{records.SUFFIX}"):
                self._read(path, self.tails.setdefault(path, _Tail()))
        return self.progress

    def hung(self, seconds: float | None, per_test: Mapping[str, float] | None = None
             ) -> list[str]:
        """Tests that live processes have been running for longer than ``seconds``, or than
        their own limit in ``per_test`` (a test with an early bound, ``timeouts.py``)."""
        now = time.monotonic()
        limits = per_test or {}
        return [nodeid for tail in self._live_tails()
                for nodeid, started in tail.running.items()
                if (limit := limits.get(nodeid, seconds)) is not None and now - started > limit]

    def _live_tails(self) -> list[_Tail]:
        # A crashed xdist worker never finishes its last test; xdist reports that test and
        # carries on, so a dead process's open test is not a hang.
        return [tail for path, tail in self.tails.items() if tail.running and _alive(path)]

    def _read(self, path: Path, tail: _Tail) -> None:
        with open(path, "rb") as stream:
            stream.seek(tail.offset)
            chunk = stream.read()
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        tail.offset += end + 1
        for line in chunk[: end + 1].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self._apply(event, tail)

    def _apply(self, event: dict[str, object], tail: _Tail) -> None:
        kind = event.get("e")
        if kind == records.START:
            self.progress.started += 1
            tail.running.clear()  # a process runs one test at a time
            tail.running[str(event["id"])] = time.monotonic()
        elif kind == records.FINISH:
            self.progress.finished += 1
            tail.running.pop(str(event["id"]), None)
            if records.parse_outcome(event.get("o", Outcome.PASSED)).is_failure:
                self.progress.failures += 1
        elif kind == records.COLLECTED and self.progress.collected is None:
            ids = event.get("ids")
            self.progress.collected = len(ids) if isinstance(ids, list) else None


def _alive(record_file: Path) -> bool:
    """Whether the process that writes ``<worker>-<pid>.jsonl`` still runs (not a zombie)."""
    pid_text = record_file.name[: -len(records.SUFFIX)].rpartition("-")[2]
    if not pid_text.isdigit():
        return True
    return pid_alive(int(pid_text))


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


@dataclass(frozen=True)
class ProcessResult:
    exit_code: int
    killed_for_hang: bool
    seconds: float
    hung: tuple[str, ...] = ()  # the tests the watchdog found running too long


def run_pytest(
    argv: list[str],
    *,
    cwd: Path,
    log_path: Path,
    record_dir: Path | None,
    hang_seconds: float | None,
    on_progress: Callable[[Progress], None] | None = None,
    env: dict[str, str] | None = None,
    hang_for: Mapping[str, float] | None = None,
) -> ProcessResult:
    """Run pytest to completion (or until killed); output goes to ``log_path``, never a pipe,
    so a suite that prints a lot cannot block on a full pipe. ``hang_for``: tests whose hang
    limit is their own, not ``hang_seconds``."""
    watcher = RecordWatcher(record_dir) if record_dir is not None else None
    started = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env if env is not None else child_env(),
            start_new_session=True,
        )
        try:
            hung = _supervise(proc, watcher, hang_seconds, on_progress, hang_for)
        except BaseException:
            _kill_group(proc)
            raise
    return ProcessResult(proc.returncode, hung is not None, time.monotonic() - started,
                         tuple(hung or ()))


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PY_COLORS", "0")
    return env


def _supervise(
    proc: subprocess.Popen[bytes],
    watcher: RecordWatcher | None,
    hang_seconds: float | None,
    on_progress: Callable[[Progress], None] | None,
    hang_for: Mapping[str, float] | None = None,
) -> list[str] | None:
    """Waits for pytest; kills its process group and returns the hung tests if one runs
    past ``hang_seconds``, else returns None when pytest ends."""
    while True:
        try:
            proc.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        else:
            if watcher is not None and on_progress is not None:
                on_progress(watcher.poll())
            return None
        if watcher is None:
            continue
        progress = watcher.poll()
        if on_progress is not None:
            on_progress(progress)
        hung = watcher.hung(hang_seconds, hang_for) if hang_seconds is not None else []
        if hung:
            _kill_group(proc)
            return hung


def kill_group(pid: int) -> None:
    """SIGKILL to a process group that may be gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    kill_group(proc.pid)
    proc.wait()


def log_tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a pytest log, shown under a one-line error."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])
