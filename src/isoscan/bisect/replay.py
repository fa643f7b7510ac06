"""``isoscan replay``: a parallel-only answer's concurrent replay, run again on demand.

``isoscan bisect`` writes each collision it verifies to a lanes file (``parallel.py``); the
reproduce command it prints runs that file's lanes side by side a few times and says how often
the victim failed, so a user (or a bug report's reader) sees the collision for themselves.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from isoscan.bisect.parallel import LANES_SCHEMA
from isoscan.errors import UsageError
from isoscan.execution.argv import Suite
from isoscan.model.answer import ReplayTally
from isoscan.trials.base import TrialRunner
from isoscan.trials.lanes import Lane

TIMES = 6  # replays per ``isoscan replay`` unless told


@dataclass(frozen=True)
class LanesPlan:
    suite: Suite
    victim: str
    seed: int | None
    lanes: list[Lane]


def replay_command(lanes_file: Path) -> str:
    return f"isoscan replay {shlex.quote(str(lanes_file))}"


def load_lanes(path: Path) -> LanesPlan:
    """A lanes file, or a one-line usage error saying what is wrong with it."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable lanes file ({exc})") from None
    if not isinstance(body, dict) or body.get("schema") != LANES_SCHEMA:
        raise UsageError(f"{path}: not an {LANES_SCHEMA} file (written by isoscan bisect)")
    try:
        lanes = [Lane(tuple(str(t) for t in lane["tests"]),
                      tuple(float(a) for a in lane["at"]), str(lane.get("worker", "")))
                 for lane in body["lanes"]]
        timeout = body.get("timeout")
        suite = Suite(paths=tuple(str(p) for p in body["paths"]),
                      pytest_args=tuple(str(a) for a in body["pytest_args"]),
                      cwd=Path(body["cwd"]),
                      timeout=float(timeout) if timeout is not None else None)
        seed = body.get("seed")
        plan = LanesPlan(suite, str(body["victim"]), int(seed) if seed is not None else None,
                         lanes)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: a damaged lanes file ({exc})") from None
    if not plan.suite.cwd.is_dir():
        raise UsageError(f"{path}: the suite's folder {plan.suite.cwd} does not exist here")
    return plan


def replay(plan: LanesPlan, runner: TrialRunner, times: int) -> ReplayTally:
    """Runs the lanes ``times`` times; how often the victim failed."""
    failed = 0
    for _ in range(times):
        outcome = runner.run_concurrent(plan.lanes, plan.seed)
        if outcome.outcome_of(plan.victim).is_failure:
            failed += 1
    return ReplayTally("the lanes of the file", failed, times)
