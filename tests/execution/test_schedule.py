"""A concurrent replay's timetable (isoscan/execution/schedule.py) as the audit's rounds write
it (trials/lanes.write_schedule): each group of lanes waits at a barrier of its own, and the
lanes with time to spare, last in the trial, are the ones the fork server holds back."""

from __future__ import annotations

from pathlib import Path

from isoscan.execution.schedule import Schedule, common_start
from isoscan.trials.lanes import Lane, write_schedule


def lane(test: str, group: int, held: bool = False) -> Lane:
    return Lane((test,), (0.0,), "gw0", group=group, held=held)


def test_groups_wait_at_barriers_of_their_own(tmp_path: Path) -> None:
    path = write_schedule(tmp_path, [lane("a", 0), lane("b", 0), lane("c", 1)])
    schedule = Schedule.read(path)
    assert schedule.groups == (0, 0, 1) and schedule.held_from == 0
    barrier = tmp_path / "barrier"
    assert schedule.barrier_of(0) == (barrier / "g0", 2)
    assert schedule.barrier_of(2) == (barrier / "g1", 1)
    assert schedule.barrier_of(None) == (barrier, 3)  # a lane whose index is unknown waits for all


def test_one_group_is_the_whole_trial(tmp_path: Path) -> None:
    schedule = Schedule.read(write_schedule(tmp_path, [lane("a", 0), lane("b", 0)]))
    assert schedule.barrier_of(1) == (tmp_path / "barrier", 2)


def test_only_held_lanes_at_the_end_are_held(tmp_path: Path) -> None:
    def held_from(flags: list[bool]) -> int:
        lanes = [lane(str(i), i, held) for i, held in enumerate(flags)]
        return Schedule.read(write_schedule(tmp_path / str(flags), lanes)).held_from
    assert held_from([False, False, True, True]) == 2
    assert held_from([False, True, False]) == 0  # a lane not held after it: none is
    assert held_from([True, True]) == 0  # every lane held: none waits, none is
    assert held_from([False, False]) == 0


def test_a_lane_alone_in_its_group_starts_at_once(tmp_path: Path) -> None:
    schedule = Schedule.read(write_schedule(tmp_path, [lane("a", 0), lane("b", 1)]))
    # Were it waiting for the other group's lane (never ready here), this would take the
    # barrier's whole wait.
    start = common_start(schedule, 1)
    assert list((tmp_path / "barrier" / "g1").glob("ready-*")) != []
    assert not list((tmp_path / "barrier" / "g0").glob("ready-*"))
    assert start > 0
