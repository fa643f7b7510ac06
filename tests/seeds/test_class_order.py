"""Orders that keep each class's methods in their collected order, and what a class is."""

from __future__ import annotations

import pytest

from isoscan.seeds.class_order import class_of, keep_class_order

COLLECTED = ["t/test_u.py::TestU::test_1", "t/test_u.py::TestU::test_2[a::b]",
             "t/test_u.py::TestU::test_3", "t/test_u.py::test_free",
             "t/test_v.py::TestV::Inner::test_x", "t/test_v.py::TestV::Inner::test_y"]


@pytest.mark.parametrize("nodeid, owner", [
    ("t/test_u.py::TestU::test_1", "t/test_u.py::TestU"),
    ("t/test_u.py::TestU::test_2[a::b]", "t/test_u.py::TestU"),  # '::' inside params
    ("t/test_v.py::TestV::Inner::test_x", "t/test_v.py::TestV::Inner"),
    ("t/test_u.py::test_free", None),
    ("t/test_u.py::test_free[x::y]", None),
])
def test_class_of(nodeid: str, owner: str | None) -> None:
    assert class_of(nodeid) == owner


def test_methods_return_to_collected_order_in_their_class_s_places() -> None:
    shuffled = [COLLECTED[5], COLLECTED[2], COLLECTED[3], COLLECTED[0], COLLECTED[4],
                COLLECTED[1]]
    assert keep_class_order(shuffled, COLLECTED) == [
        COLLECTED[4], COLLECTED[0], COLLECTED[3], COLLECTED[1], COLLECTED[5], COLLECTED[2]]


def test_a_reversed_order_keeps_its_classes_running_forward() -> None:
    reversed_order = COLLECTED[::-1]
    assert keep_class_order(reversed_order, COLLECTED) == [
        COLLECTED[4], COLLECTED[5], COLLECTED[3], COLLECTED[0], COLLECTED[1], COLLECTED[2]]
    assert keep_class_order(COLLECTED, COLLECTED) == COLLECTED
