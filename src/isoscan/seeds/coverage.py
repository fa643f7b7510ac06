"""Counting the back-to-back ordered pairs a list of orders runs: what a plan claims to cover
is counted in the orders it emits, never taken from how they were built.

Only covered pairs are kept (one per adjacent position of each order); the totals are
arithmetic, so a 10,000-test suite is counted exactly without listing its 10⁸ pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

from isoscan.model.coverage import PairCount, PlanCoverage
from isoscan.seeds.grouping import module_of, split_nodeid


def measure(collected: Sequence[str], orders: Sequence[Sequence[str]], *, plan_seed: int,
            planned: int) -> PlanCoverage:
    """Coverage of ``orders`` (the collected, the reversed and the planned ones, in that
    order) over the ordered pairs of distinct collected tests and of their modules."""
    tests = list(dict.fromkeys(collected))
    index = {nodeid: i for i, nodeid in enumerate(tests)}
    modules: dict[str, int] = {}
    module = [modules.setdefault(module_of(t), len(modules)) for t in tests]
    sizes = Counter(module)
    n, m = len(tests), len(modules)
    module_total = m * (m - 1)
    in_total = sum(size * (size - 1) for size in sizes.values())
    module_seen: set[int] = set()
    test_seen: set[int] = set()
    inside = 0
    complete_after = None if module_total else 0
    for number, order in enumerate(orders, start=1):
        ids = [index[t] for t in order if t in index]
        for a, b in pairwise(ids):
            if a == b or a * n + b in test_seen:
                continue
            test_seen.add(a * n + b)
            if module[a] == module[b]:
                inside += 1
            else:
                module_seen.add(module[a] * m + module[b])
        if complete_after is None and len(module_seen) == module_total:
            complete_after = number
    class_ends, module_ends = _ends(tests, [[t for t in o if t in index] for o in orders])
    return PlanCoverage(
        plan_seed=plan_seed, planned=planned, tests=n, modules=m,
        module_pairs=PairCount(len(module_seen), module_total),
        module_pairs_complete_after=complete_after,
        in_modules=PairCount(inside, in_total),
        across_modules=PairCount(len(test_seen) - inside, n * (n - 1) - in_total),
        class_ends=class_ends, module_ends=module_ends,
    )


def _ends(tests: list[str], orders: Sequence[Sequence[str]]) -> tuple[PairCount, PairCount]:
    """Tests in classes that ran last in their class in some order (of all tests in classes),
    and tests that ran last in their module in some order (of all tests)."""
    in_class = {t: "::".join(split_nodeid(t)[:-1]) for t in tests if len(split_nodeid(t)) > 2}
    class_last: set[str] = set()
    module_last: set[str] = set()
    for order in orders:
        for before, after in zip(order, [*order[1:], None], strict=True):
            if after is None or module_of(after) != module_of(before):
                module_last.add(before)
            group = in_class.get(before)
            if group is not None and (after is None or in_class.get(after) != group):
                class_last.add(before)
    return (PairCount(len(class_last), len(in_class)),
            PairCount(len(module_last), len(tests)))
