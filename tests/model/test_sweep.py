"""What a sweep says it found and spent (model/sweep.py)."""

from __future__ import annotations

from isoscan.model.sweep import Sweep


def test_a_complete_sweep_states_its_cost_in_full_runs() -> None:
    sweep = Sweep(["t/a.py::test_bad"], None, victims=["t/b.py::test_v"], candidates=10,
                  swept=10, trials=10, confirm_trials=7, test_seconds=2.5,
                  full_run_seconds=1.0, budget_seconds=3.0)
    assert sweep.complete and sweep.runs_spent == 2.5
    assert sweep.describe() == (
        "swept t/a.py::test_bad before 10 of 10 tests: 1 new victim; 10 trials + 7 to "
        "confirm, 2.50s of test time (2.50 full runs; bound 3.00s)")
    assert sweep.to_json()["full_runs_spent"] == 2.5


def test_under_the_floor_the_bound_is_the_floor_and_the_rest_is_said() -> None:
    sweep = Sweep(["t/a.py::test_bad"], None, candidates=50, swept=40, trials=40,
                  test_seconds=0.98, full_run_seconds=0.01, budget_seconds=1.0)
    assert not sweep.complete
    assert sweep.describe() == (
        "swept t/a.py::test_bad before 40 of 50 tests: 0 new victims; 40 trials + 0 to "
        "confirm, 0.98s of test time (bound: the 1s floor; a full run's tests take 0.010s); "
        "10 tests left unswept at the bound")
