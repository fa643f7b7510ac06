"""The per-process event files the plugin writes, and how to read them back.

One file per pytest process (``main-<pid>.jsonl``) or xdist worker (``gw0-<pid>.jsonl``);
one JSON object per line. A process killed mid-write leaves at most one partial last line,
which is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isoscan.model.outcomes import Outcome

MAIN = "main"
SUFFIX = ".jsonl"
HELLO = "hello"
COLLECTED = "collected"
START = "start"
FINISH = "finish"
END = "end"
# The JUnit property that carries a test's exact node id (classname/name lose it).
NODEID_PROPERTY = "isoscan_nodeid"


def read_order_file(path: Path) -> list[str]:
    """One node id per line; blank lines are ignored, ids are kept byte-exact otherwise."""
    text = path.read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line.strip()]


# Which of a test's phase outcomes stands for the test: a failing teardown after a passing call
# fails it, a hang or crash outweighs any failure.
_SEVERITY = {Outcome.PASSED: 0, Outcome.SKIPPED: 1, Outcome.FAILED: 2, Outcome.ERROR: 2,
             Outcome.TIMEOUT: 3, Outcome.CRASHED: 3}


def severity(outcome: Outcome) -> int:
    return _SEVERITY.get(outcome, 0)


def parse_outcome(text: object) -> Outcome:
    """An outcome as a process wrote it; one this isoscan does not know counts as a failure."""
    try:
        return Outcome(str(text))
    except ValueError:
        return Outcome.FAILED


def is_timeout_message(message: str) -> bool:
    # pytest-timeout fails a test with "Failed: Timeout (>5.0s) from pytest-timeout."
    # (2.x, signal method) or "Timeout >5.0s" (older releases).
    return "from pytest-timeout" in message or "Timeout >" in message


@dataclass
class Execution:
    """One test as one process ran it."""

    nodeid: str
    started: float
    finished: float | None = None
    outcome: Outcome | None = None
    duration: float = 0.0
    message: str = ""
    touched: list[list[str]] = field(default_factory=list)  # with --isoscan-resources, as JSON


@dataclass
class ProcessRecord:
    """Everything one pytest process (or xdist worker) recorded."""

    name: str  # file stem: worker-pid
    worker: str
    pid: int
    role: str = "runner"
    seed: int | None = None
    collected: list[str] | None = None
    missing: list[str] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    end_status: int | None = None
    # Written by every process of one pytest run alike, so a folder that mixes two runs shows.
    run: str | None = None
    workers: int | None = None  # the run's xdist workers (0: none), as this process knew it
    # Only the run's first process (the serial one, or the xdist controller) writes it.
    git_head: str | None = None

    @property
    def order(self) -> list[str]:
        return [e.nodeid for e in self.executions]

    @property
    def unfinished(self) -> list[Execution]:
        return [e for e in self.executions if e.finished is None]

    @property
    def finished_count(self) -> int:
        return sum(1 for e in self.executions if e.finished is not None)


def read_process_file(path: Path) -> ProcessRecord:
    return process_record(path.name[: -len(SUFFIX)], _events(path))


def process_record(stem: str, events: list[dict[str, Any]]) -> ProcessRecord:
    """What a process recorded, from its events, as if read from the file ``stem.jsonl``."""
    worker, _, pid = stem.rpartition("-")
    record = ProcessRecord(name=stem, worker=worker or stem, pid=int(pid) if pid.isdigit() else 0)
    by_id: dict[str, Execution] = {}
    for event in events:
        _apply(record, by_id, event)
    return record


def read_record_dir(directory: Path) -> list[ProcessRecord]:
    """All runner processes recorded in a directory (the xdist controller is left out)."""
    if not directory.is_dir():
        return []
    found = [read_process_file(p) for p in sorted(directory.glob(f"*{SUFFIX}"))]
    return [r for r in found if r.role != "controller"]


def _events(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if not line.endswith("\n"):
                break  # partial last line of a killed process
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                events.append(value)
    return events


def _apply(record: ProcessRecord, by_id: dict[str, Execution], event: dict[str, Any]) -> None:
    kind = event.get("e")
    if kind == HELLO:
        record.role = str(event.get("role", "runner"))
        seed = event.get("seed")
        record.seed = seed if isinstance(seed, int) else None
        run, workers, head = event.get("run"), event.get("workers"), event.get("git")
        record.run = run if isinstance(run, str) else None
        record.workers = workers if isinstance(workers, int) else None
        record.git_head = head if isinstance(head, str) else None
    elif kind == COLLECTED:
        record.collected = [str(i) for i in event.get("ids", [])]
        record.missing = [str(i) for i in event.get("missing", [])]
    elif kind == START:
        execution = Execution(nodeid=str(event["id"]), started=float(event["t"]))
        record.executions.append(execution)
        by_id[execution.nodeid] = execution
    elif kind == FINISH:
        found = by_id.get(str(event["id"]))
        if found is not None:
            found.finished = float(event["t"])
            found.outcome = parse_outcome(event.get("o", Outcome.PASSED))
            found.duration = float(event.get("d", 0.0))
            found.message = str(event.get("m", ""))
            touched = event.get("r")
            if isinstance(touched, list):
                found.touched = [[str(part) for part in entry] for entry in touched
                                 if isinstance(entry, list)]
    elif kind == END:
        record.end_status = int(event.get("status", 0))
