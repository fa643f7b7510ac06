"""Stable tests: pure functions, no shared state."""

from __future__ import annotations

import pytest

from demoapp.mathutils import add, clamp, is_prime, mean


class TestClamp:
    def test_inside_range(self) -> None:
        assert clamp(5, 0, 10) == 5

    def test_below_range(self) -> None:
        assert clamp(-3, 0, 10) == 0

    def test_above_range(self) -> None:
        assert clamp(42, 0, 10) == 10


def test_mean() -> None:
    assert mean([1.0, 2.0, 3.0]) == 2.0


def test_mean_of_empty_list_raises() -> None:
    with pytest.raises(ValueError):
        mean([])


@pytest.mark.parametrize(("n", "expected"), [(2, True), (9, False), (13, True)])
def test_is_prime(n: int, expected: bool) -> None:
    assert is_prime(n) is expected


def test_add() -> None:
    assert add(2, 2) == 4
