"""The reproduce command of an answer: one order file per independent set, under the store's
``repro/`` folder, and the plain pytest command that reads it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from isoscan.bisect.context import BisectConfig
from isoscan.execution.argv import Ordering, reproduce_command
from isoscan.execution.runner import write_order_file
from isoscan.model.answer import BisectResult
from isoscan.model.status import OrderingKind


def add_reproduce(result: BisectResult, config: BisectConfig, sets: list[list[str]],
                  seed: int | None) -> None:
    """One reproduce command per independent set, each reading its own order file."""
    result.seed = seed
    for number, before in enumerate(sets, start=1):
        order_file = repro_path(config.store_dir, config.victim, number)
        write_order_file(order_file, [*before, config.victim])
        shown = relative(order_file, config.suite.cwd)
        result.reproduce_all.append(
            reproduce_command(config.suite, Ordering(OrderingKind.EXPLICIT, seed), shown))
        if number == 1:
            result.order_file = order_file
            result.reproduce = result.reproduce_all[0]


def repro_path(store_dir: Path, victim: str, number: int = 1) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", victim.rsplit("::", 1)[-1])[:60]
    digest = hashlib.sha1(victim.encode("utf-8")).hexdigest()[:8]
    suffix = "" if number == 1 else f"-set{number}"
    return store_dir / "repro" / f"{slug}-{digest}{suffix}.txt"


def relative(path: Path, cwd: Path) -> Path:
    """``path`` as the user types it from the suite's directory, when it lies inside it."""
    try:
        return path.resolve().relative_to(cwd.resolve())
    except ValueError:
        return path.resolve()
