"""Following the children a fork server forks for one request: their started and exited
events, hangs killed at their bound, each child's event file read back as a process record,
and the exit code of the whole."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isoscan.execution import records
from isoscan.execution.process import POLL_SECONDS, RecordWatcher, kill_group, pid_alive
from isoscan.execution.runner import RAN, Segment
from isoscan.trials.fork.protocol import (
    CHILD_INDEX,
    DONE,
    EXITED,
    STARTED,
    TrialRequest,
    child_events,
    child_records,
)


def combined_exit_code(codes: list[int]) -> int:
    """As for a resumed run: the first abnormal exit code, else the worst of 0 and 1."""
    abnormal = [code for code in codes if code not in RAN]
    return abnormal[0] if abnormal else max(codes, default=0)


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


class Children:
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
