"""A concurrent replay's timetable: several processes ("lanes") run their tests side by side,
each test started at its recorded moment relative to the others.

The lanes of one replay start their tests from one shared instant: every lane, once it has
collected (or been forked), writes a ``ready`` file to the barrier folder and waits until all
lanes have; the latest ready time plus a small margin is the common start, the same number in
every lane (wall-clock time, which all processes of one machine share). Lanes may come in
*groups* (the audit's independent replays run as one trial): each group has a barrier and a
start of its own, so a group does not wait for lanes it has nothing to do with. A lane says it
is ready at its first test's body, once its broad fixtures are set up (``plugin.Pacer``). Each
test's body is then held back until ``start + at``. Read by the plugin, so it imports nothing
but the standard library.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = "isoscan.schedule/2"
MARGIN = 0.05  # seconds between the last lane being ready and the common start
BARRIER_WAIT = 60.0  # a lane that never comes (it crashed collecting) stops holding the others
_POLL = 0.002


@dataclass(frozen=True)
class Schedule:
    """``workers``: per lane, the xdist worker it stands for (gw0, ...; empty: none), so each
    lane gets the worker id, worker count and run id xdist gave that worker."""

    lanes: int  # how many processes take part
    barrier: Path  # the folder where each lane says it is ready
    at: dict[str, float]  # node id -> seconds after the common start
    workers: tuple[str, ...] = ()
    worker_count: int = 0
    run_uid: str = field(default_factory=lambda: os.urandom(16).hex())
    groups: tuple[int, ...] = ()  # per lane, the group whose start it shares (empty: one)
    # The lanes from this index on have time to spare: the fork server forks them once the
    # lanes before them are ready (0: no such lanes).
    held_from: int = 0

    def worker_of(self, lane: int) -> str:
        return self.workers[lane] if 0 <= lane < len(self.workers) else ""

    def barrier_of(self, lane: int | None) -> tuple[Path, int]:
        """The folder lane ``lane`` says it is ready in and how many lanes it waits for: its
        group's, or every lane's when there are no groups (or the lane's index is unknown)."""
        if lane is None or not 0 <= lane < len(self.groups) or len(set(self.groups)) < 2:
            return self.barrier, self.lanes
        group = self.groups[lane]
        return self.barrier / f"g{group}", self.groups.count(group)

    def write(self, path: Path) -> None:
        body = {"schema": SCHEMA, "lanes": self.lanes, "barrier": str(self.barrier),
                "at": self.at, "workers": list(self.workers),
                "worker_count": self.worker_count, "run_uid": self.run_uid,
                "groups": list(self.groups), "held_from": self.held_from}
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Schedule:
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("schema") != SCHEMA:
            raise ValueError(f"{path} is not an isoscan schedule")
        return cls(int(body["lanes"]), Path(body["barrier"]),
                   {str(k): float(v) for k, v in body["at"].items()},
                   tuple(str(w) for w in body.get("workers", ())),
                   int(body.get("worker_count", 0)), str(body.get("run_uid", "")),
                   tuple(int(g) for g in body.get("groups", ())),
                   int(body.get("held_from", 0)))


def common_start(schedule: Schedule, lane: int | None = None) -> float:
    """Says lane ``lane`` is ready and waits for the others of its group; returns their shared
    start instant."""
    barrier, lanes = schedule.barrier_of(lane)
    barrier.mkdir(parents=True, exist_ok=True)
    mine = barrier / f"ready-{os.getpid()}"
    partial = mine.with_suffix(".tmp")
    now = time.time()
    partial.write_text(repr(now), encoding="utf-8")
    os.replace(partial, mine)  # never read half-written
    if lanes <= 1:  # nothing to wait for, no one to give a margin to
        return now
    deadline = time.monotonic() + BARRIER_WAIT
    while True:
        ready = list(barrier.glob("ready-*[0-9]"))
        if len(ready) >= lanes or time.monotonic() > deadline:
            break
        time.sleep(_POLL)
    times = []
    for path in ready:
        try:
            times.append(float(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return max(times, default=time.time()) + MARGIN


def wait_ready(schedule: Schedule, lanes: range, cap: float) -> None:
    """Waits until every lane of ``lanes`` has said it is ready (or ``cap`` seconds pass):
    the fork server holds the lanes with time to spare back until then, so the forks and
    set-ups of the lanes the trial waits for do not compete with theirs."""
    needed: dict[Path, int] = {}
    for lane in lanes:
        barrier, _ = schedule.barrier_of(lane)
        needed[barrier] = needed.get(barrier, 0) + 1
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        if all(sum(1 for _ in barrier.glob("ready-*[0-9]")) >= count
               for barrier, count in needed.items()):
            return
        time.sleep(_POLL)


def wait_until(instant: float) -> None:
    delay = instant - time.time()
    if delay > 0:
        time.sleep(delay)
