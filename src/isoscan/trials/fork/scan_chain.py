"""A scan: one forked child runs a bisect's whole starting order once and, at checkpoints along
the way, forks a grandchild that runs the victim right there. Each grandchild is exactly the
trial [the tests so far..., victim] (see ``exact_checkpoint``), so one pass over N tests tells
after how many of them the victim first misbehaves, where a bisect would otherwise start by
running the whole order again and again.

Runs inside the fork server's child (``server.py``); isoscan reads the checkpoints back
from ``scan.jsonl`` and each checkpoint's own record folder (``protocol.py``).

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

from isoscan.trials.fork.protocol import TrialRequest, checkpoint_dir, scan_log
from isoscan.trials.scan import ScanStop

RunItems = Callable[..., int]  # server.run_items(session, items, after=None)
Finish = Callable[[pytest.Session, int], int]
Begin = Callable[[pytest.Session, Path, list[pytest.Item]], None]

WAIT_STEP = 0.002  # seconds between looks at a checkpoint that outlives the hang limit


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


def run_scan(session: pytest.Session, items: list[pytest.Item], request: TrialRequest,
             run_items: RunItems, finish: Finish, begin: Begin) -> int:
    """In the server's child: the order (its last item is the victim) with checkpoints along
    it, ending at the first checkpoint whose victim does what ``request.stop`` names. Returns
    pytest's exit code."""
    if len(items) < 2 or not request.checkpoints:
        return run_items(session, items)
    victim, tests = items[-1], len(items) - 1
    stride = max(1, tests // request.checkpoints)
    stop_status = 1 if request.stop is ScanStop.FAILS else 0
    can_teardown = callable(getattr(getattr(session, "_setupstate", None), "teardown_exact", None))
    target = stride
    with open(scan_log(request), "a", encoding="utf-8") as log:

        def after(index: int) -> bool:
            nonlocal target
            before, nextitem = index + 1, items[index + 1] if index + 1 < len(items) else None
            if before < target or nextitem is None or nextitem is victim \
                    or not exact_checkpoint(items[index], nextitem, victim, can_teardown):
                return False
            target = before + stride
            # The chain waits for its checkpoint: run beside it, a victim could meet the
            # chain's current test over a lock, a port or a file (a parallel-only victim would
            # fail there), which the trial it stands for never does.
            pid = _fork_check(session, victim, request, before, begin, run_items, finish)
            _note(log, fork=before, pid=pid)
            status = _wait(pid, request.hang_seconds)
            _note(log, exit=before, status=status)
            return status == stop_status

        return run_items(session, items, after)


def _note(log: IO[str], **fields: object) -> None:
    log.write(json.dumps(fields) + "\n")
    log.flush()


def _wait(pid: int, limit: float | None) -> int:
    """The checkpoint's exit code, once it has ended; killed once it outlives ``limit``."""
    started = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG if limit is not None else 0)
        if done:
            return os.waitstatus_to_exitcode(status)
        if limit is not None and time.monotonic() - started > limit:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            limit = None  # then wait for it to die
        else:
            time.sleep(WAIT_STEP)


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
