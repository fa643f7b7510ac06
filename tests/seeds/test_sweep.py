"""The polluter sweep (seeds/sweep.py) on generated suites of the shapes real projects have:
run the known polluter right before every other test, in fork trials, and name exactly the
victims each shape plants, each confirmed by the stated rule, within the stated bound."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pollution_shapes import SHAPES, make_shape

from isoscan.execution.argv import Suite
from isoscan.model.confidence import Rule
from isoscan.model.status import Command, RunPurpose
from isoscan.seeds.sweep import module_reader, rank_candidates, sweep_polluter
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.factory import make_trials


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "store")
    yield opened
    opened.close()


def runner_for(suite: Suite, store: Store) -> TrialRunner:
    session = store.begin_suite_session(Command.SEEDS, suite)
    return make_trials(suite, store, session, RunPurpose.CONFIRM, True)


@pytest.mark.parametrize("shape_name", SHAPES)
def test_sweep_names_every_planted_victim(shape_name: str, tmp_path: Path,
                                          store: Store) -> None:
    shape = make_shape(shape_name, 1)
    suite = Suite(cwd=shape.write(tmp_path / "suite"), timeout=30)
    runner = runner_for(suite, store)
    try:
        collected = runner.collected() or []
        for polluter, victims in shape.victims.items():
            candidates = [t for t in collected if t != polluter]
            sweep, found = sweep_polluter([polluter], None, candidates, runner, Rule(),
                                          durations={t: 0.001 for t in collected})
            # Exactly the planted victims: no cleaner, no other polluter's victim, nothing
            # a setUp reset hides; each confirmed by the rule.
            assert set(sweep.victims) == victims, polluter
            assert {v.nodeid for v in found} == victims
            assert all(v.confirmation.met for v in found)
            assert sweep.unconfirmed == []
            assert sweep.complete and sweep.swept == len(candidates)
            assert sweep.trials == len(candidates)
            assert sweep.test_seconds <= sweep.budget_seconds
    finally:
        runner.close()


def test_sweep_stops_at_its_bound(tmp_path: Path, store: Store) -> None:
    """A polluter that takes 0.45 s (a sleep standing for its work, not for a sync) in a suite
    whose full run is those 0.45 s: the bound is three full runs, 1.35 s. Two trials spend
    0.9 s and more; a third, estimated at 0.45 s plus what each trial took beyond its tests'
    durations, would pass the bound, so the sweep stops there and says so."""
    root = tmp_path / "suite"
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "tests/test_slow.py").write_text(
        "import time\n\ndef test_polluter():\n    time.sleep(0.45)\n\n"
        + "".join(f"def test_other_{i}():\n    pass\n\n" for i in range(10)))
    suite = Suite(cwd=root, timeout=30)
    runner = runner_for(suite, store)
    try:
        collected = runner.collected() or []
        polluter = "tests/test_slow.py::test_polluter"
        durations = dict.fromkeys(collected, 0.0) | {polluter: 0.45}
        candidates = [t for t in collected if t != polluter]
        sweep, found = sweep_polluter([polluter], None, candidates, runner, Rule(), durations)
        assert sweep.budget_seconds == pytest.approx(1.35)
        assert sweep.swept == 2 and sweep.trials == 2 and found == []
        assert sweep.test_seconds <= sweep.budget_seconds
        assert sweep.describe().endswith("8 tests left unswept at the bound")
    finally:
        runner.close()


def test_candidates_that_mention_the_state_come_first(tmp_path: Path) -> None:
    """The test whose own function reads the state first, then one whose class does (in its
    setup), then one whose module does, then one beside a known victim, then the rest."""
    root = tmp_path / "s"
    (root / "tests").mkdir(parents=True)
    (root / "tests/test_a.py").write_text("def test_x():\n    pass\n")
    (root / "tests/test_b.py").write_text(
        "import factory\n\n\ndef test_z():\n    pass\n\n\n"
        "def test_reads(value):\n    assert factory.id_type == value\n\n\n"
        "class TestSet:\n    def setup_method(self):\n        factory.id_type = 1\n\n"
        "    def test_in_class(self):\n        pass\n")
    (root / "tests/test_c.py").write_text("class TestK:\n    def test_y(self):\n        pass\n"
                                          "\n    def test_w(self):\n        pass\n")
    ids = ["tests/test_a.py::test_x", "tests/test_c.py::TestK::test_y",
           "tests/test_b.py::test_z", "tests/test_b.py::TestSet::test_in_class",
           "tests/test_b.py::test_reads[1]", "tests/test_c.py::TestK::test_w"]
    ranked = rank_candidates(ids, ["id_type"], ["tests/test_c.py::TestK::test_v"],
                             module_reader(root))
    assert ranked == ["tests/test_b.py::test_reads[1]", "tests/test_b.py::TestSet::test_in_class",
                      "tests/test_b.py::test_z", "tests/test_c.py::TestK::test_y",
                      "tests/test_c.py::TestK::test_w", "tests/test_a.py::test_x"]
