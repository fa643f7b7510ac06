"""A concurrent replay's timetable: several processes ("lanes") run their tests side by side,
each test started at its recorded moment relative to the others.

The lanes of one replay start their tests from one shared instant: every lane, once it has
collected (or been forked), writes a ``ready`` file to the barrier folder and waits until all
lanes have; the latest ready time plus a small margin is the common start, the same number in
every lane (wall-clock time, which all processes of one machine share). Each test is then held
back until ``start + at``. Read by the plugin, so it imports nothing but the standard library.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = "isoscan.schedule/1"
MARGIN = 0.05  # seconds between the last lane being ready and the common start
BARRIER_WAIT = 60.0  # a lane that never comes (it crashed collecting) stops holding the others
_POLL = 0.002


@dataclass(frozen=True)
class Schedule:
    lanes: int  # how many processes take part
    barrier: Path  # the folder where each lane says it is ready
    at: dict[str, float]  # node id -> seconds after the common start

    def write(self, path: Path) -> None:
        body = {"schema": SCHEMA, "lanes": self.lanes, "barrier": str(self.barrier),
                "at": self.at}
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Schedule:
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("schema") != SCHEMA:
            raise ValueError(f"{path} is not an isoscan schedule")
        return cls(int(body["lanes"]), Path(body["barrier"]),
                   {str(k): float(v) for k, v in body["at"].items()})


def common_start(schedule: Schedule) -> float:
    """Says this lane is ready and waits for the others; returns the shared start instant."""
    schedule.barrier.mkdir(parents=True, exist_ok=True)
    mine = schedule.barrier / f"ready-{os.getpid()}"
    partial = mine.with_suffix(".tmp")
    partial.write_text(repr(time.time()), encoding="utf-8")
    os.replace(partial, mine)  # never read half-written
    deadline = time.monotonic() + BARRIER_WAIT
    while True:
        ready = list(schedule.barrier.glob("ready-*[0-9]"))
        if len(ready) >= schedule.lanes or time.monotonic() > deadline:
            break
        time.sleep(_POLL)
    times = []
    for path in ready:
        try:
            times.append(float(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return max(times, default=time.time()) + MARGIN


def wait_until(instant: float) -> None:
    delay = instant - time.time()
    if delay > 0:
        time.sleep(delay)
