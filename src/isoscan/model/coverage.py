"""What a plan's orders cover: back-to-back ordered pairs of modules and of tests, counted in
the orders themselves (``seeds/coverage.py``), said before the runs start and kept in the JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PairCount:
    covered: int
    total: int

    @property
    def share(self) -> float:
        return self.covered / self.total if self.total else 1.0

    def percent(self) -> str:
        # Never "100%" for a share short of it, nor "0%" for a share above nothing.
        value = self.share * 100
        if 0 < value < 1:
            return "<1%"
        if 99 < value < 100:
            return ">99%"
        return f"{value:.0f}%"

    def to_json(self) -> dict[str, int]:
        return {"covered": self.covered, "total": self.total}


@dataclass(frozen=True)
class PlanCoverage:
    """Pairs run back to back by the collected, the reversed and the planned orders."""

    plan_seed: int
    planned: int  # planned orders (``--count``)
    tests: int
    modules: int
    module_pairs: PairCount  # module A's last test right before module B's first
    module_pairs_complete_after: int | None  # orders (collected and reversed included)
    in_modules: PairCount  # test pairs inside one module
    across_modules: PairCount  # test pairs at module boundaries
    # Tests that ran last in their class (of the tests in classes), and last in their module,
    # in some order: a polluter whose classmates clean up reaches other tests only from there.
    class_ends: PairCount = PairCount(0, 0)
    module_ends: PairCount = PairCount(0, 0)

    @property
    def orders(self) -> int:
        return self.planned + 2

    @property
    def test_pairs(self) -> PairCount:
        return PairCount(self.in_modules.covered + self.across_modules.covered,
                         self.in_modules.total + self.across_modules.total)

    def describe(self) -> str:
        """One sentence: ``the collected, the reversed and 8 planned orders run all 56 …``."""
        parts = []
        if self.modules > 1:
            pairs = self.module_pairs
            if pairs.covered == pairs.total:
                parts.append(f"all {pairs.total:,} back-to-back module pairs "
                             f"(in {self.module_pairs_complete_after} orders)")
            else:
                parts.append(f"{pairs.covered:,} of {pairs.total:,} back-to-back module pairs")
        if self.in_modules.total:
            parts.append(f"{self.in_modules.percent()} of the {self.in_modules.total:,} "
                         "test pairs inside modules")
        if self.across_modules.total:
            parts.append(f"{self.across_modules.percent()} of the "
                         f"{self.across_modules.total:,} test pairs across modules")
        covered = ", ".join(parts) if parts else "no pairs (a single test)"
        ends = []
        if self.class_ends.total:
            ends.append(f"{self.class_ends.covered:,} of the {self.class_ends.total:,} tests "
                        "in classes last in their class")
        if self.modules > 1:
            ends.append(f"{self.module_ends.covered:,} of {self.module_ends.total:,} tests "
                        "last in their module")
        last = f" They run {' and '.join(ends)}." if ends else ""
        return (f"The collected, the reversed and {self.planned} planned orders "
                f"(plan seed {self.plan_seed}) run {covered}: "
                f"{self.test_pairs.percent()} of all ordered test pairs back to back.{last}")

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_seed": self.plan_seed,
            "planned": self.planned,
            "orders": self.orders,
            "tests": self.tests,
            "modules": self.modules,
            "module_pairs": self.module_pairs.to_json()
            | {"complete_after": self.module_pairs_complete_after},
            "test_pairs_in_modules": self.in_modules.to_json(),
            "test_pairs_across_modules": self.across_modules.to_json(),
            "test_pairs": self.test_pairs.to_json(),
            "class_ends": self.class_ends.to_json(),
            "module_ends": self.module_ends.to_json(),
            "text": self.describe(),
        }
