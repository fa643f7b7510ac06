"""Lanes: the tests of a concurrent replay, one process each, all running at the same time.

A parallel-only victim fails only while a test on another xdist worker runs beside it. Its
replay puts the victim in one lane and each other worker's tests in a lane of their own, each
test held back until its recorded start relative to the victim (``execution/schedule.py``).
Every lane is a segment of one stored run (``seg<k>/``: order file, records, log).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from isoscan.execution.runner import write_order_file
from isoscan.execution.schedule import Schedule


@dataclass(frozen=True)
class Lane:
    tests: tuple[str, ...]
    at: tuple[float, ...]  # per test: seconds after the lanes' common start
    worker: str = ""  # where these tests ran in the recorded run (gw1, ...)
    # Lanes of one group share a start; a trial's groups start each on their own (0: one).
    group: int = 0
    # A lane with time to spare: forked once the lanes before it are ready (only the lanes
    # after the last one not held are held).
    held: bool = False

    def __post_init__(self) -> None:
        if len(self.tests) != len(self.at):
            raise ValueError("a lane needs one start time per test")


def lane_dir(run_dir: Path, index: int) -> Path:
    return run_dir / f"seg{index}"


def write_schedule(run_dir: Path, lanes: Sequence[Lane], worker_count: int = 0) -> Path:
    """The timetable every lane of this run reads; its barrier folder is fresh per run.
    ``worker_count``: the recorded run's xdist workers (at least the lanes that stand for
    one), what each lane's ``PYTEST_XDIST_WORKER_COUNT`` says."""
    at = {test: when for lane in lanes for test, when in zip(lane.tests, lane.at, strict=True)}
    path = run_dir / "schedule.json"
    run_dir.mkdir(parents=True, exist_ok=True)
    workers = tuple(lane.worker if lane.worker.startswith("gw") else "" for lane in lanes)
    count = max(worker_count, len({w for w in workers if w}))
    Schedule(len(lanes), run_dir / "barrier", at, workers, count,
             groups=tuple(lane.group for lane in lanes), held_from=_held_from(lanes)).write(path)
    return path


def write_lane_orders(run_dir: Path, lanes: Sequence[Lane]) -> list[Path]:
    """Each lane's order file in its segment folder, with the records folder and log beside."""
    orders = []
    for index, lane in enumerate(lanes):
        folder = lane_dir(run_dir, index)
        (folder / "records").mkdir(parents=True, exist_ok=True)
        write_order_file(folder / "order.txt", list(lane.tests))
        (folder / "output.log").touch()
        orders.append(folder / "order.txt")
    return orders


def _held_from(lanes: Sequence[Lane]) -> int:
    """The index from which every lane is held (0: none is, or every one is)."""
    first = len(lanes)
    while first > 0 and lanes[first - 1].held:
        first -= 1
    return first if 0 < first < len(lanes) else 0
