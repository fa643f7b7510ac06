"""Shrinking an order to a minimal set of tests that still makes the victim misbehave.

The predicate answers "with these tests before it, does the victim fail?" (for a brittle
test: "does it pass?"). Subsets always keep the original relative order.

First an optimistic binary search: test one half; if it is not enough, assume the other
half is, without a trial. A single culprit takes ⌈log₂ N⌉ trials. When culprits only act
together the assumption breaks; the answer then fails verification and a careful search
(both halves tested, and when neither alone is enough, each half shrunk with the other as
context) finds the whole set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

MAX_SETS = 8  # independent culprit sets a search looks for before it stops

# Whether the victim misbehaves after exactly these tests (in this order): a fresh trial.
Holds = Callable[[Sequence[str]], bool]


class Shrinker:
    def __init__(self, pool: Sequence[str], predicate: Holds) -> None:
        self.position = {nodeid: i for i, nodeid in enumerate(pool)}
        self.predicate = predicate
        self.cache: dict[tuple[str, ...], bool] = {}

    def _ordered(self, tests: Sequence[str]) -> list[str]:
        return sorted(set(tests), key=self.position.__getitem__)

    def test(self, tests: Sequence[str]) -> bool:
        key = tuple(self._ordered(tests))
        if key not in self.cache:
            self.cache[key] = self.predicate(list(key))
        return self.cache[key]

    def shrink(self, pool: Sequence[str], careful: bool) -> list[str]:
        """A minimal subset of ``pool`` for which the predicate holds (assumed for ``pool``)."""
        return self._ordered(self._find(self._ordered(pool), [], careful))

    def _find(self, pool: list[str], context: list[str], careful: bool) -> list[str]:
        if len(pool) <= 1:
            return pool
        half = len(pool) // 2
        first, second = pool[:half], pool[half:]
        if self.test(context + first):
            return self._find(first, context, careful)
        if not careful or self.test(context + second):
            return self._find(second, context, careful)
        # Neither half is enough alone: the culprits act together across both halves.
        needed_first = self._find(first, context + second, careful)
        needed_second = self._find(second, context + needed_first, careful)
        return needed_first + needed_second
