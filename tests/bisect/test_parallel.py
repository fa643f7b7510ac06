"""The collision search's last resort (``bisect/parallel.py``): when the victim passes every
replay beside all its suspects at their recorded offsets, it is replayed beside each nearest
suspect alone at offsets around the recorded one, and a collision found that way is verified by
the same rule at that offset. Real fork trials on a generated suite; the timeline is written
by hand, with the culprit's body recorded 0.5 s later than it really ran."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from suitegen import write

from isoscan.bisect.parallel import SHIFTS, CollisionSearch, find_collision
from isoscan.bisect.timeline import Timeline
from isoscan.execution.argv import Suite
from isoscan.model.answer import BisectKind
from isoscan.model.confidence import Decision
from isoscan.model.rows import ExecutionRow
from isoscan.model.status import Command, RunPurpose
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.factory import make_trials

# Real concurrent replays: `timing`, run one at a time in a pytest process of their own (make test).
pytestmark = pytest.mark.timing

# The victim holds its table for 0.3 s; the culprit replaces it 0.15 s into its body. So the
# victim fails when the culprit's body begins within about -0.15..+0.15 s of its own: a margin
# of 0.15 s either side of the right shift, and 0.15 s clear of the neighbouring one, for lanes
# that start late on a busy machine.
VICTIM_BODY = """
import os
import sqlite3
import time

DB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared.sqlite")


def test_reads_its_own_row():
    db = sqlite3.connect(DB, timeout=10, isolation_level=None)
    db.execute("DROP TABLE IF EXISTS items")
    db.execute("CREATE TABLE items (who TEXT)")
    db.execute("INSERT INTO items VALUES ('victim')")
    time.sleep(0.3)
    assert [r[0] for r in db.execute("SELECT who FROM items")] == ["victim"]
"""

CULPRIT_BODY = """
import os
import sqlite3
import time

DB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared.sqlite")


def test_replaces_the_table():
    time.sleep(0.15)
    db = sqlite3.connect(DB, timeout=10, isolation_level=None)
    db.execute("DROP TABLE IF EXISTS items")
    db.execute("CREATE TABLE items (who TEXT)")
    db.execute("INSERT INTO items VALUES ('culprit')")
"""

VICTIM = "tests/test_victim.py::test_reads_its_own_row"
CULPRIT = "tests/test_culprit.py::test_replaces_the_table"


class _Steps:
    def __init__(self) -> None:
        self.said: list[str] = []

    def step(self, trials: int, message: str) -> None:
        self.said.append(message)


def test_a_collision_off_its_recorded_offset_is_found_by_the_sweep(tmp_path: Path) -> None:
    assert -0.5 in SHIFTS
    root = write(tmp_path / "suite", {"tests/test_victim.py": VICTIM_BODY,
                                      "tests/test_culprit.py": CULPRIT_BODY})
    t0 = 1_000_000.0
    # As recorded: both bodies began together, but the culprit's is written 0.5 s late (a
    # machine whose timing differs from the recorded one's by that much).
    executions = [
        ExecutionRow("gw0-1", "gw0", 0, 0, VICTIM, t0, t0 + 0.35, "failed", t0),
        ExecutionRow("gw1-2", "gw1", 0, 0, CULPRIT, t0, t0 + 0.2, "passed", t0 + 0.5),
    ]
    line = Timeline(VICTIM, 0, "gw0", "gw0-1", t0, t0 + 0.35, executions, t0)
    store = Store(tmp_path / "store")
    suite = Suite(paths=("tests",), cwd=root, timeout=20)
    session = store.begin_suite_session(Command.BISECT, suite)
    runner = make_trials(suite, store, session, RunPurpose.BISECT, True)
    steps = _Steps()
    try:
        result, search = find_collision(VICTIM, line, None, runner, steps, "test", root)
    finally:
        runner.close()
        store.close()
    assert result.kind is BisectKind.PARALLEL_ONLY, result.note
    assert result.polluters == [[CULPRIT]], (result.note, steps.said)
    # Beside the culprit at its recorded offset it passed; the sweep found it 0.5 s earlier
    # (or, by timing noise, at the neighbouring -0.2 s shift, which is 0.3 s off: never).
    assert "concurrent replay beside all 1 suspects: failed 0 of 4" in steps.said, steps.said
    moved = [s for s in steps.said if "moved" in s and s.endswith("failed")]
    assert len(moved) == 1 and "moved -0.5s" in moved[0], steps.said
    assert search.shift == {CULPRIT: -0.5}
    assert result.parallel is not None and result.parallel.reproduced is not None
    database = str((root / "shared.sqlite").resolve())
    shared = [(s.kind, s.name) for s in result.parallel.shared]
    assert shared == [(f"sqlite {database}", "items"), ("sqlite database", database)]



RIDER = "tests/test_culprit.py::test_reads_the_config"
RIDER_BODY = "\n\ndef test_reads_the_config():\n    pass\n"
T0 = 1_000_000.0


@contextmanager
def _trials(tmp_path: Path) -> Iterator[TrialRunner]:
    """Real fork trials of the suite under ``tmp_path / "suite"``."""
    store = Store(tmp_path / "store")
    suite = Suite(paths=("tests",), cwd=tmp_path / "suite", timeout=20)
    session = store.begin_suite_session(Command.BISECT, suite)
    runner = make_trials(suite, store, session, RunPurpose.BISECT, True)
    try:
        yield runner
    finally:
        runner.close()
        store.close()


def _victim_failed() -> ExecutionRow:
    return ExecutionRow("gw0-1", "gw0", 0, 0, VICTIM, T0, T0 + 0.2, "failed", T0)


def _line(executions: list[ExecutionRow]) -> Timeline:
    return Timeline(VICTIM, 0, "gw0", "gw0-1", T0, T0 + 0.2, executions, T0)


def test_verification_drops_a_rider_the_search_kept_beside_the_culprit(tmp_path: Path) -> None:
    """A set the search returned with an innocent test beside the culprit (timing noise can
    do that): the rule confirms the pair, but beside the culprit alone the victim fails too,
    so the innocent test is dropped and the culprit alone is what is verified."""
    write(tmp_path / "suite", {"tests/test_victim.py": VICTIM_BODY,
                               "tests/test_culprit.py": CULPRIT_BODY + RIDER_BODY})
    line = _line([_victim_failed(),
                  ExecutionRow("gw1-2", "gw1", 0, 0, RIDER, T0 - 0.3, T0 - 0.29, "passed",
                               T0 - 0.3),
                  ExecutionRow("gw1-2", "gw1", 0, 1, CULPRIT, T0, T0 + 0.1, "passed", T0)])
    steps = _Steps()
    with _trials(tmp_path) as runner:
        culprits, check = CollisionSearch(runner, line, None, steps).verify([RIDER, CULPRIT])
    assert culprits == [CULPRIT], steps.said
    assert check.decision is Decision.CONFIRMED, steps.said
    assert any(s.startswith(f"concurrent replays beside the set without {RIDER}: a rider, "
                            f"dropped") for s in steps.said), steps.said


def test_the_resource_map_names_the_culprit_among_many_suspects_in_one_question(
        tmp_path: Path) -> None:
    """Twenty tests ran on other workers beside the victim, nineteen of them nearer its
    moment than the culprit; only the culprit touches the victim's database. The first
    replay beside all of them records what each touches, and the search asks about the
    culprit alone first: the suspects are never halved."""
    others = "".join(f"\n\ndef test_other_{i}():\n    pass\n" for i in range(19))
    root = write(tmp_path / "suite", {"tests/test_victim.py": VICTIM_BODY,
                                      "tests/test_culprit.py": CULPRIT_BODY,
                                      "tests/test_others.py": others})
    executions = [_victim_failed(),
                  ExecutionRow("gw1-2", "gw1", 0, 0, CULPRIT, T0 - 0.03, T0 + 0.1, "passed",
                               T0 - 0.03)]
    executions += [ExecutionRow("gw2-3", "gw2", 0, i, f"tests/test_others.py::test_other_{i}",
                                T0 - 0.02 + 0.002 * i, T0 - 0.019 + 0.002 * i, "passed",
                                T0 - 0.02 + 0.002 * i) for i in range(19)]
    steps = _Steps()
    with _trials(tmp_path) as runner:
        result, _ = find_collision(VICTIM, _line(executions), None, runner, steps, "test", root)
    assert result.polluters == [[CULPRIT]], (result.note, steps.said)
    assert f"the resource map ranks {CULPRIT} first: it collides" in steps.said, steps.said
    halves = [s for s in steps.said if s.startswith("concurrent replay beside 10 suspects")]
    assert not halves, steps.said


DELAYER = "tests/test_culprit.py::test_a_slow_start"
DELAYER_BODY = "\n\ndef test_a_slow_start():\n    time.sleep(1.0)\n"


def test_a_test_that_only_delays_the_culprit_is_not_blamed(tmp_path: Path) -> None:
    """The culprit's body is recorded 0.5 s before it really began, and the test before it in
    its worker's lane runs 1.0 s, past that moment: beside both, the culprit starts late
    enough to collide every time; beside the culprit alone, at its recorded offset, never.
    The rule keeps the slow test (the set without it passes every time), but it shares nothing
    with the victim and the culprit does: the culprit alone, swept, collides 0.5 s later and is
    verified there, and the slow test is not blamed."""
    assert 0.5 in SHIFTS
    write(tmp_path / "suite", {"tests/test_victim.py": VICTIM_BODY,
                               "tests/test_culprit.py": CULPRIT_BODY + DELAYER_BODY})
    line = _line([_victim_failed(),
                  ExecutionRow("gw1-2", "gw1", 0, 0, DELAYER, T0 - 1.0, T0 - 0.5, "passed",
                               T0 - 1.0),
                  ExecutionRow("gw1-2", "gw1", 0, 1, CULPRIT, T0 - 0.5, T0 - 0.3, "passed",
                               T0 - 0.5)])
    steps = _Steps()
    with _trials(tmp_path) as runner:
        search = CollisionSearch(runner, line, None, steps)
        culprits, check = search.verify([DELAYER, CULPRIT])
    assert culprits == [CULPRIT], steps.said
    assert check.decision is Decision.CONFIRMED, steps.said
    assert any(s.startswith(f"concurrent replays beside the set without {DELAYER}: it is "
                            f"needed") for s in steps.said), steps.said
    assert search.shift == {CULPRIT: 0.5}, steps.said
