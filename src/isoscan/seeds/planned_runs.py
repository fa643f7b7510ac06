"""The run plan of ``isoscan seeds``: orders × worker counts."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from isoscan.errors import UsageError
from isoscan.execution.argv import Ordering
from isoscan.model.status import OrderingKind, TextEnum


class OrderSource(TextEnum):
    """Where the ``--count`` orders come from."""

    PLANNED = "planned"  # built to run untried pairs of tests back to back (coverage.py)
    RANDOM = "random"  # pytest-randomly seeds (``--random``)


@dataclass(frozen=True)
class PlannedRun:
    ordering: Ordering
    workers: int
    order: tuple[str, ...] | None = None  # a PLANNED ordering's node ids, in the order they run
    number: int = 0  # which planned order (from 1), to name it

    def label(self) -> str:
        kind, seed = self.ordering.kind, self.ordering.seed
        order = (f"seed {seed}" if kind == OrderingKind.RANDOM
                 else f"planned order {self.number} (seed {seed})" if kind == OrderingKind.PLANNED
                 else str(kind))
        return f"{order}, {'serial' if self.workers == 0 else f'{self.workers} workers'}"


def parse_workers(text: str) -> list[int]:
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise UsageError(f"--workers takes worker counts like 0,2,4, not {text!r}")
        if int(part) not in values:
            values.append(int(part))
    return values


def draw_seeds(count: int, explicit: Sequence[int]) -> list[int]:
    seeds = list(dict.fromkeys(explicit))
    rng = random.SystemRandom()
    while len(seeds) < len(explicit) + count:
        seed = rng.randrange(1, 2**31)
        if seed not in seeds:
            seeds.append(seed)
    return seeds


def build_plan(seeds: Sequence[int], workers: Sequence[int],
               planned: Sequence[tuple[int, tuple[str, ...]]] = ()) -> list[PlannedRun]:
    """The collected and the reversed order, a pytest-randomly run per seed, then each planned
    order (its seed context, its ids), every one at each worker count."""
    orders = [PlannedRun(Ordering(OrderingKind.COLLECTED), 0),
              PlannedRun(Ordering(OrderingKind.REVERSED), 0)]
    orders += [PlannedRun(Ordering(OrderingKind.RANDOM, seed), 0) for seed in seeds]
    orders += [PlannedRun(Ordering(OrderingKind.PLANNED, seed), 0, ids, number)
               for number, (seed, ids) in enumerate(planned, start=1)]
    return [replace(o, workers=w) for o in orders for w in workers]
