"""What a plan says it covers (seeds/coverage.py): the tests that ran last in their class and
last in their module, counted in the orders themselves."""

from __future__ import annotations

from isoscan.seeds.coverage import measure

IDS = ["t/a.py::TestK::test_1", "t/a.py::TestK::test_2", "t/a.py::TestK::test_3",
       "t/a.py::test_free", "t/b.py::test_x", "t/b.py::test_y"]


def test_class_and_module_ends_are_counted_in_the_orders() -> None:
    k1, k2, k3, free, x, y = IDS
    orders = [IDS, IDS[::-1], [k2, k1, k3, free, y, x]]
    coverage = measure(IDS, orders, plan_seed=1, planned=1)
    # Last in TestK: test_3 (collected), test_1 (reversed); test_2 never.
    assert (coverage.class_ends.covered, coverage.class_ends.total) == (2, 3)
    # Last in their module: free, y (collected), k1, x (reversed), x again; k2, k3 never.
    assert (coverage.module_ends.covered, coverage.module_ends.total) == (4, 6)
    assert coverage.to_json()["class_ends"] == {"covered": 2, "total": 3}
    assert coverage.describe().endswith(
        "They run 2 of the 3 tests in classes last in their class and 4 of 6 tests last in "
        "their module.")
