"""What isoscan and its fork server say to each other: one JSON object per line over two pipes.

isoscan → server: a ``TrialRequest`` per trial. The node ids are never in the request: they are
in the order file it names (one per line, as for ``--isoscan-order``), so 10,000 ids cost one
small line on the pipe. Outcomes come back the way they do from any pytest process of isoscan:
the plugin's JSON-line event files in the request's records folder.

server → isoscan: ``session-failed`` if the suite stopped the server's session start; ``ready``
once collection is done (with the collected ids and the threads
alive at that point); then per child ``started`` (its pid, also its process group, and the
index of its ids) and ``exited`` (its exit code, negative for the signal that killed it, as in
``subprocess``); then ``done`` when the request's last child has exited.

A request runs its ids in one child, in order (a trial), or with ``alone`` each id in a child
of its own (``isoscan isolate``), at most ``jobs`` children at a time. With ``scan`` the one
child runs the order as a *scan* (``scan_chain.py``): the last id is the victim, and at
up to ``checkpoints`` points along the way the child forks a grandchild that runs the victim
right there, so one pass tells after how many tests the victim first misbehaves.

Imported by both sides, so it imports neither pytest nor the store.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isoscan.trials.scan import ScanStop

READY = "ready"
# The server's own session start was stopped by the suite (``pytest.exit``, an error), with
# why: the server then ends before ``ready``, and isoscan runs its trials as subprocesses.
SESSION_FAILED = "session-failed"
STARTED = "started"
EXITED = "exited"
DONE = "done"

@dataclass(frozen=True)
class TrialRequest:
    trial: int
    order: Path  # node ids, one per line
    records: Path  # where the child's Recorder writes its event file
    log: Path  # the child's stdout and stderr
    seed: int | None  # pytest-randomly seed context, None = no reseeding
    alone: bool = False  # one child per id instead of one child for the whole order
    jobs: int = 1  # children at a time (alone only)
    scan: bool = False  # run the order as a scan; its last id is the victim
    stop: ScanStop = ScanStop.FAILS
    checkpoints: int = 0  # at most this many victim checks along a scan
    hang_seconds: float | None = None  # a checkpoint's victim running longer is killed
    snapshot: Path | None = None  # an ``isoscan explain`` spec: snapshot around the order
    # A concurrent replay: one child per lane, all at once, each running the ids of its own
    # order file (its records and log beside that file), paced by ``schedule``.
    lanes: tuple[Path, ...] = ()
    schedule: Path | None = None
    resources: bool = False  # children record what each test touches (audit hooks)
    # Per-test early bounds (``execution/timeouts.py``): the child marks those tests.
    timeouts: Path | None = None

    def encode(self) -> bytes:
        body = {
            "trial": self.trial,
            "order": str(self.order),
            "records": str(self.records),
            "log": str(self.log),
            "seed": self.seed,
            "alone": self.alone,
            "jobs": self.jobs,
            "scan": self.scan,
            "stop": self.stop.value,
            "checkpoints": self.checkpoints,
            "hang_seconds": self.hang_seconds,
            "snapshot": str(self.snapshot) if self.snapshot is not None else None,
            "lanes": [str(lane) for lane in self.lanes],
            "schedule": str(self.schedule) if self.schedule is not None else None,
            "resources": self.resources,
            "timeouts": str(self.timeouts) if self.timeouts is not None else None,
        }
        return (json.dumps(body, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def decode(cls, line: str) -> TrialRequest:
        body = json.loads(line)
        seed = body.get("seed")
        return cls(
            trial=int(body["trial"]),
            order=Path(body["order"]),
            records=Path(body["records"]),
            log=Path(body["log"]),
            seed=int(seed) if seed is not None else None,
            alone=bool(body.get("alone", False)),
            jobs=max(1, int(body.get("jobs", 1))),
            scan=bool(body.get("scan", False)),
            stop=ScanStop(body.get("stop", ScanStop.FAILS.value)),
            checkpoints=max(0, int(body.get("checkpoints", 0))),
            hang_seconds=float(hang) if (hang := body.get("hang_seconds")) is not None else None,
            snapshot=Path(spec) if (spec := body.get("snapshot")) else None,
            lanes=tuple(Path(lane) for lane in body.get("lanes", ())),
            schedule=Path(plan) if (plan := body.get("schedule")) else None,
            resources=bool(body.get("resources", False)),
            timeouts=Path(limits) if (limits := body.get("timeouts")) else None,
        )


def write_all(fd: int, data: bytes) -> None:
    """Writes all of ``data`` to ``fd`` (a pipe may take a long line in parts)."""
    while data:
        data = data[os.write(fd, data):]


def encode_event(kind: str, **fields: Any) -> str:
    return json.dumps({"e": kind, **fields}, ensure_ascii=False) + "\n"


def child_event(kind: str, trial: int, pid: int, index: int, status: int | None = None) -> bytes:
    """``encode_event(kind, trial=, pid=, index=[, status=])`` for a child's ``started`` or
    ``exited``, the same line, made without the json module: the server writes two per child,
    and every object it touches between two forks is a page the kernel copies again (json's
    encoder doubled the server's copied pages per child)."""
    line = b'{"e": "%s", "trial": %d, "pid": %d, "index": %d' % (kind.encode(), trial, pid, index)
    return line + (b"}\n" if status is None else b', "status": %d}\n' % status)


def child_records(request: TrialRequest, index: int) -> Path:
    """Where child ``index`` of a request writes its event file: the request's folder for a
    trial, a folder per child for ``alone`` (each child is then a segment of its own), the
    lane's own folder for a lane of a concurrent replay."""
    if request.lanes:
        return lane_records(request.lanes[index])
    return request.records / str(index) if request.alone else request.records


def lane_records(order: Path) -> Path:
    return order.parent / "records"


def lane_log(order: Path) -> Path:
    return order.parent / "output.log"


def scan_log(request: TrialRequest) -> Path:
    """The scan child's account of its checkpoints: one JSON line as each victim check is
    forked (``{"fork": n, "pid": p}``) and as it ends (``{"exit": n, "status": s}``), where
    ``n`` is how many tests of the order ran before the victim."""
    return request.records.parent / "scan.jsonl"


def checkpoint_dir(request: TrialRequest, before: int) -> Path:
    """The folder of the victim check after ``before`` tests: ``records/`` and ``output.log``."""
    return request.records.parent / "checkpoints" / f"{before:06d}"


# The children of an ``alone`` request do not each create a folder and an event file (two new
# inodes per child cost about as much as a small test): they append their event lines, each
# tagged with the child's index (``"i"``), to this one file in the request's records folder,
# one ``write`` per line. Only processes a child's test forks write their own files, in
# ``child_records``.
CHILD_EVENTS = "children.events"
CHILD_INDEX = "i"


def child_events(request: TrialRequest) -> Path:
    return request.records / CHILD_EVENTS
