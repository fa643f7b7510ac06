"""The run plan of ``isoscan seeds``: orders × worker counts."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from isoscan.errors import UsageError
from isoscan.execution.argv import Ordering, OrderingKind


@dataclass(frozen=True)
class PlannedRun:
    ordering: Ordering
    workers: int

    def label(self) -> str:
        kind = self.ordering.kind
        order = f"seed {self.ordering.seed}" if kind == OrderingKind.RANDOM else str(kind)
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


def build_plan(seeds: Sequence[int], workers: Sequence[int]) -> list[PlannedRun]:
    orderings = [Ordering(OrderingKind.COLLECTED), Ordering(OrderingKind.REVERSED)]
    orderings += [Ordering(OrderingKind.RANDOM, seed) for seed in seeds]
    return [PlannedRun(o, w) for o in orderings for w in workers]
