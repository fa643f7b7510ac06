"""The shrinking algorithm on its own, with a predicate that encodes a known culprit set."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from isoscan.search.shrink import Shrinker

POOL = [f"t{i}" for i in range(100)]


def needs_all(culprits: set[str], calls: list[int]) -> Callable[[list[str]], bool]:
    def predicate(tests: list[str]) -> bool:
        calls.append(1)
        return culprits <= set(tests)

    return predicate


@pytest.mark.parametrize("culprit", ["t0", "t37", "t99"])
def test_single_culprit_takes_log2_trials(culprit: str) -> None:
    calls: list[int] = []
    found = Shrinker(POOL, needs_all({culprit}, calls)).shrink(POOL, careful=False)
    assert found == [culprit]
    assert len(calls) <= math.ceil(math.log2(len(POOL)))


def test_culprits_acting_together_need_the_careful_search() -> None:
    calls: list[int] = []
    predicate = needs_all({"t3", "t80"}, calls)
    shrinker = Shrinker(POOL, predicate)
    optimistic = shrinker.shrink(POOL, careful=False)
    assert not predicate(optimistic)  # the optimistic answer does not verify
    assert shrinker.shrink(POOL, careful=True) == ["t3", "t80"]


def test_three_culprits_together() -> None:
    calls: list[int] = []
    shrinker = Shrinker(POOL, needs_all({"t1", "t50", "t98"}, calls))
    assert shrinker.shrink(POOL, careful=True) == ["t1", "t50", "t98"]


def test_subsets_keep_the_original_order() -> None:
    seen: list[list[str]] = []

    def predicate(tests: list[str]) -> bool:
        seen.append(tests)
        return "t5" in tests

    Shrinker(POOL, predicate).shrink(POOL, careful=True)
    for tests in seen:
        assert tests == sorted(tests, key=POOL.index)
