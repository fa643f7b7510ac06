"""A scan: one forked child runs a bisect's whole starting order once and, at checkpoints along
the way, forks a grandchild that runs the victim right there. Each grandchild is exactly the
trial [the tests so far..., victim] (see ``exact_checkpoint``), so one pass over N tests tells
after how many of them the victim first misbehaves, where a bisect would otherwise start by
running the whole order again and again.

Runs inside the fork server's child (``forkserver.py``); isoscan reads the checkpoints back
from ``scan.jsonl`` and each checkpoint's own record folder (``fork_protocol.py``).

Why a checkpoint is exact: after test ``c`` pytest tears down every scope the next item does
not share (``nextitem``). In the trial [..., c, victim] it tears down what the victim does not
share. The chain ran ``c`` with the next test of the order as ``nextitem``; the grandchild then
tears down what the victim does not share (``teardown_exact``) before running it. The two agree
when every scope the chain kept is one the trial would have kept or the grandchild can still
tear down, i.e. when the victim shares no more of ``c``'s scopes than the next test does. Other
points are skipped. The chain waits while a checkpoint runs, so the two never meet over a lock,
a port or a file. What no fork isolates, the file system and outside services, a checkpoint
does not isolate either: what its victim writes there, the rest of the chain sees. So isoscan
treats a scan as a way to cut the order short and re-checks what it learns with fresh trials.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from isoscan.fork_protocol import STOP_FAILS, TrialRequest, checkpoint_dir, scan_log

RunItems = Callable[[pytest.Session, list[pytest.Item]], int]
Finish = Callable[[pytest.Session, int], int]
Begin = Callable[[pytest.Session, Path, list[pytest.Item]], None]

WAIT_STEP = 0.002  # seconds between looks at a checkpoint that outlives the chain


def shared_scopes(first: pytest.Item, second: pytest.Item) -> int:
    """How many nodes (session, directories, module, class) the two items' chains share."""
    count = 0
    for mine, theirs in zip(first.listchain(), second.listchain(), strict=False):
        if mine is not theirs:
            break
        count += 1
    return count


def exact_checkpoint(item: pytest.Item, nextitem: pytest.Item, victim: pytest.Item,
                     can_teardown: bool = True) -> bool:
    """True when forking after ``item`` (run with ``nextitem``) and tearing down to the victim
    gives the state of a fresh trial that ran ``item`` right before the victim. Without a way
    to tear down (``can_teardown``), only where nothing is left to tear down."""
    victim_shares, next_shares = shared_scopes(item, victim), shared_scopes(item, nextitem)
    return victim_shares == next_shares or (can_teardown and victim_shares < next_shares)


class Checkpoints:
    """The grandchildren of one scan: forked, waited for (killed past the hang limit), reaped."""

    def __init__(self, request: TrialRequest, stop_status: int) -> None:
        self.request = request
        self.stop_status = stop_status
        self.running: dict[int, tuple[int, float]] = {}  # pid -> (tests before, started)
        self.stopped = False
        self.log: IO[str] = open(scan_log(request), "a", encoding="utf-8")  # noqa: SIM115

    def note(self, **fields: object) -> None:
        self.log.write(json.dumps(fields) + "\n")
        self.log.flush()

    def started(self, pid: int, before: int) -> None:
        self.running[pid] = (before, time.monotonic())
        self.note(fork=before, pid=pid)

    def poll(self) -> None:
        for pid in list(self.running):
            with contextlib.suppress(ChildProcessError):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    self._ended(pid, os.waitstatus_to_exitcode(status))

    def wait_all(self) -> None:
        """Every checkpoint still running is waited for (killed past the hang limit)."""
        limit = self.request.hang_seconds
        while self.running:
            self.poll()
            now = time.monotonic()
            for pid, (_, started) in list(self.running.items()):
                if limit is not None and now - started > limit:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            if self.running:
                time.sleep(WAIT_STEP)

    def _ended(self, pid: int, status: int) -> None:
        before, _ = self.running.pop(pid)
        self.note(exit=before, status=status)
        if status == self.stop_status:
            self.stopped = True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.log.close()


def run_scan(session: pytest.Session, items: list[pytest.Item], request: TrialRequest,
             run_items: RunItems, finish: Finish, begin: Begin) -> int:
    """In the server's child: the order's tests with checkpoints, then the victim unless a
    checkpoint already showed what the scan stops for. Returns pytest's exit code."""
    if len(items) < 2:
        return run_items(session, items)
    victim, tests = items[-1], items[:-1]
    stride = max(1, len(tests) // max(1, request.checkpoints)) if request.checkpoints else 0
    checkpoints = Checkpoints(request, 1 if request.stop == STOP_FAILS else 0)
    status = int(pytest.ExitCode.OK)
    can_teardown = callable(getattr(getattr(session, "_setupstate", None), "teardown_exact", None))
    try:
        target = stride
        for index, item in enumerate(tests):
            status = _run_one(session, item, items[index + 1])
            if status not in (int(pytest.ExitCode.OK), int(pytest.ExitCode.TESTS_FAILED)):
                break
            before = index + 1
            nextitem = items[index + 1]
            if stride and before >= target and nextitem is not victim \
                    and exact_checkpoint(item, nextitem, victim, can_teardown):
                # The chain waits for its checkpoint: run beside it, a victim could meet the
                # chain's current test over a lock, a port or a file (a parallel-only victim
                # would fail there), which the trial it stands for never does.
                pid = _fork_check(session, victim, request, before, begin, run_items, finish)
                checkpoints.started(pid, before)
                checkpoints.wait_all()
                target = before + stride
                if checkpoints.stopped:
                    break
        else:
            status = _run_one(session, victim, None)
        checkpoints.wait_all()
    finally:
        checkpoints.close()
    return status


def _run_one(session: pytest.Session, item: pytest.Item, nextitem: pytest.Item | None) -> int:
    item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
    if session.shouldfail:
        return int(pytest.ExitCode.TESTS_FAILED)
    if session.shouldstop:
        return int(pytest.ExitCode.INTERRUPTED)
    return int(pytest.ExitCode.TESTS_FAILED if session.testsfailed else pytest.ExitCode.OK)


def _fork_check(session: pytest.Session, victim: pytest.Item, request: TrialRequest,
                before: int, begin: Begin, run_items: RunItems, finish: Finish) -> int:
    folder = checkpoint_dir(request, before)
    folder.mkdir(parents=True, exist_ok=True)
    pid = os.fork()
    if pid:
        return pid
    status = int(pytest.ExitCode.INTERNAL_ERROR)
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        session.testsfailed = 0  # the chain's failures are not the victim's
        begin(session, folder, [victim])
        _teardown_to(session, victim)
        status = finish(session, run_items(session, [victim]))
    except BaseException:
        status = int(pytest.ExitCode.INTERNAL_ERROR)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)


def _teardown_to(session: pytest.Session, victim: pytest.Item) -> None:
    """Ends the scopes the chain kept that the victim does not share, as the trial would have
    ended them after the previous test; their errors belong to that test, not the victim."""
    state = getattr(session, "_setupstate", None)
    teardown = getattr(state, "teardown_exact", None)
    if callable(teardown):
        with contextlib.suppress(Exception):
            teardown(victim)
