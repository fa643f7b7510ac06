"""Splitting the ``seeds`` plan across CI jobs: ``--shard K/N`` and a plan seed all jobs share.

Every job builds the whole plan and keeps every N-th run starting at run K, so N jobs together
run each planned run exactly once. That only holds if every job builds the *same* plan, so the
seeds of a sharded plan must not come from the system's entropy: they are listed with
``--seed`` or drawn from ``random.Random(plan_seed)`` (``--plan-seed``, e.g. the CI run id),
and planned orders are planned from the same plan seed (each job collects the same ids).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from isoscan.errors import UsageError
from isoscan.seeds.planned_runs import PlannedRun, build_plan, draw_seeds

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` → ``(2, 4)``: job 2 of 4, counted from 1 like CI systems do."""
    found = _SHARD.fullmatch(text)
    if found is None:
        raise UsageError(f"--shard takes K/N like 2/4 (job K of N, from 1), not {text!r}")
    k, n = int(found.group(1)), int(found.group(2))
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N")
    return k, n


def plan_seeds(count: int, explicit: Sequence[int], plan_seed: int | None) -> list[int]:
    """The explicit seeds, then ``count`` more: reproducible from ``plan_seed`` when given."""
    if plan_seed is None:
        return draw_seeds(count, explicit)
    rng = random.Random(plan_seed)
    seeds = list(dict.fromkeys(explicit))
    target = len(seeds) + count
    while len(seeds) < target:
        seed = rng.randrange(1, 2**31)
        if seed not in seeds:
            seeds.append(seed)
    return seeds


def shard_slice(plan: Sequence[PlannedRun], k: int, n: int) -> list[PlannedRun]:
    """Runs K, K+N, K+2N, … (1-based): the N slices are disjoint and cover the plan."""
    return list(plan[k - 1 :: n])


def check_shard(count: int, seeds: Sequence[int], workers: Sequence[int], shard: str | None,
                plan_seed: int | None) -> tuple[int, int] | None:
    """``--shard`` as (K, N), checked against the plan's size, which is known before any order
    is drawn or planned; None without ``--shard``."""
    if shard is None:
        return None
    if count > 0 and plan_seed is None:
        raise UsageError(
            "--shard with --count needs --plan-seed N so every job plans the same orders "
            "(e.g. --plan-seed $GITHUB_RUN_ID), or list the seeds with --seed and --count 0"
        )
    k, n = parse_shard(shard)
    size = (2 + len(dict.fromkeys(seeds)) + count) * len(workers)
    if n > size:
        raise UsageError(f"--shard {k}/{n}: the plan has only {size} runs, "
                         f"so use at most {size} shards")
    return k, n


def sharded_plan(count: int, seeds: Sequence[int], workers: Sequence[int], shard: str | None,
                 plan_seed: int | None,
                 planned: Sequence[tuple[str, ...]] | None = None) -> list[PlannedRun]:
    """The plan of ``isoscan seeds``, or this job's slice of it with ``--shard``. With
    ``planned`` (``count`` orders of node ids), those run instead of pytest-randomly's
    shuffles, each under one of the ``count`` drawn seeds as its seed context."""
    part = check_shard(count, seeds, workers, shard, plan_seed)
    drawn = plan_seeds(count, seeds, plan_seed)
    if planned is None:
        plan = build_plan(drawn, workers)
    else:
        explicit, contexts = drawn[: len(drawn) - count], drawn[len(drawn) - count :]
        plan = build_plan(explicit, workers, list(zip(contexts, planned, strict=True)))
    return plan if part is None else shard_slice(plan, *part)
