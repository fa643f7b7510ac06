"""What the tests a bisect blamed leave behind: ``isoscan explain`` run on a verified answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from isoscan.bisect.repro_files import repro_path
from isoscan.errors import IsoscanError
from isoscan.execution.argv import Suite
from isoscan.model.answer import BisectResult, Mechanism
from isoscan.trials.base import TrialRunner

if TYPE_CHECKING:
    from isoscan.explain.workflow import Explanation


def explain_answer(suite: Suite, result: BisectResult, store_dir: Path, runner: TrialRunner,
                   notice: Callable[[str], None]) -> Explanation | None:
    """The state the first polluter set (or the state-setters) leaves behind, run in a fork of
    ``runner``'s collected session when it has one: call it before closing the runner. A
    failure here never hides the bisect answer: ``notice`` hears it and None is returned.
    A collision is not explained: nothing is left behind, both tests must run at once, and the
    answer already names what they share."""
    if result.parallel is not None and result.parallel.mechanism is Mechanism.COLLISION:
        return None
    if not (result.polluters or result.state_setters) or result.import_time is not None:
        # An import-time answer names its change itself, and a polluter of its own-module
        # frame was explained in that frame (bisect/own_frame.py).
        return None
    # Imported only now: the snapshot machinery is not on the way to the fork server's start.
    from isoscan.explain.workflow import explain

    blamed = result.polluters[0] if result.polluters else result.state_setters
    workdir = repro_path(store_dir, result.victim).with_suffix("") / "explain"
    try:
        return explain(suite, blamed, result.victim, workdir, seed=result.seed,
                       exclude=[store_dir], runner=runner)
    except IsoscanError as exc:
        notice(f"could not explain the state: {exc.message}")
        return None
