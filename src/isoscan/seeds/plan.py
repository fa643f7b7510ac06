"""The plan ``isoscan seeds`` runs, from its options: the collected and the reversed order, any
``--seed``, then ``--count`` orders, planned for pair coverage (the default) or drawn as
pytest-randomly seeds (``--random``); the whole plan or one shard of it.

Planning needs the suite's node ids first: one collect-only pytest process.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from isoscan.execution.argv import Suite
from isoscan.execution.collect import collect_ids_once
from isoscan.model.coverage import PlanCoverage
from isoscan.seeds.class_order import keep_class_order as keep_class_methods
from isoscan.seeds.coverage import measure
from isoscan.seeds.planned_runs import OrderSource, PlannedRun
from isoscan.seeds.planner import plan_orders
from isoscan.seeds.shard import check_shard, sharded_plan


@dataclass(frozen=True)
class SeedsPlan:
    runs: list[PlannedRun]  # this job's runs: the whole plan, or its shard of it
    coverage: PlanCoverage | None = None  # what the planned orders cover (the whole plan's)


def make_plan(suite: Suite, count: int, seeds: Sequence[int], workers: Sequence[int], *,
              source: OrderSource = OrderSource.PLANNED, shard: str | None = None,
              plan_seed: int | None = None,
              collecting: Callable[[], None] | None = None,
              keep_class_order: bool = False) -> SeedsPlan:
    """Raises ``UsageError`` for bad ``--shard`` / ``--plan-seed`` before anything runs, and
    ``SuiteError`` when the suite cannot be collected. ``collecting`` is told just before the
    collect-only run."""
    if source is OrderSource.RANDOM or count == 0:
        return SeedsPlan(sharded_plan(count, seeds, workers, shard, plan_seed))
    check_shard(count, seeds, workers, shard, plan_seed)
    if plan_seed is None:
        # Drawn here rather than left open, so the plan names the seed that replans it.
        plan_seed = random.SystemRandom().randrange(1, 2**31)
    if collecting is not None:
        collecting()
    # The runs themselves go past collection errors the user let pytest go past; so does this.
    collected = collect_ids_once(suite, past_errors=True)
    orders = plan_orders(collected, count, plan_seed)
    if keep_class_order:  # --keep-class-order: each class's methods in collected order
        orders = [keep_class_methods(order, collected) for order in orders]
    coverage = measure(collected, [collected, collected[::-1], *orders], plan_seed=plan_seed,
                       planned=count)
    runs = sharded_plan(count, seeds, workers, shard, plan_seed,
                        planned=[tuple(order) for order in orders])
    return SeedsPlan(runs, coverage)
