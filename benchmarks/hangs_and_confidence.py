"""Issue #15: hangs cost one timeout, not one per run; verdicts carry a stated error rate.

A generated 70-test suite with a test that hangs whenever its polluter ran first, a test that
kills its interpreter (``os._exit``) behind another polluter, a test that fails half the time
at random, and an ordinary victim whose recorded order holds the hang. In one run, for this
checkout ("after") and for an older checkout ("before", ``--before DIR``: e.g. made with
``git worktree add --detach /tmp/isoscan-before HEAD``), each on a fresh copy of the suite:

- ``isoscan seeds tests --count 6 --plan-seed 15 --workers 0,2 --timeout 60``, wall time and
  verdicts (this checkout plans its 6 orders; the older one draws 6 pytest-randomly seeds, so
  this checkout also runs it with ``--random``, which draws the very same seeds: the same
  plan as before);
- ``isoscan bisect VICTIM`` (no ``--timeout``: each version's own default) of every victim,
  wall time and answer; and of the ordinary victim from run #1 (``--run 1``: the collected
  order, serially), where the hang ran before it.

Then the stated rule itself: 100 seeded simulations of the test failing half the time, judged
by the rule, and the exact chance that it gets an order verdict.

``python benchmarks/hangs_and_confidence.py [--before DIR] [--keep DIR]``. The "before" run of
the issue's numbers takes over 20 minutes: every hang there costs the whole timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from isoscan.model.confidence import Confirmation, Rule

HANG = "tests/test_b_hang.py::test_hangs_when_armed"
VICTIM = "tests/test_c_victim.py::test_victim"
CRASH = "tests/test_e_crash.py::test_crashes_when_armed"
COIN = "tests/test_f_coin.py::test_coin"
JUDGED = (HANG, VICTIM, CRASH, COIN)
# The collected order, serially (the plan's first run in both versions): the hang, armed by
# its polluter, runs before the victim there.
BISECTS: list[tuple[str, list[str]]] = [(victim, []) for victim in JUDGED]
BISECTS.append((VICTIM, ["--run", "1"]))
SEEDS_ARGS = ["seeds", "tests", "--count", "6", "--plan-seed", "15", "--workers", "0,2",
              "--timeout", "60"]

FILES = {
    "tests/test_a_setup.py": """
import state

def test_arms_hang():
    state.FLAGS["hang"] = True

def test_pollutes():
    state.FLAGS["polluted"] = True
""",
    "tests/test_b_hang.py": """
import threading
import state

def test_hangs_when_armed():
    if state.FLAGS.get("hang"):
        threading.Event().wait()
""",
    "tests/test_c_victim.py": """
import state

def test_victim():
    assert "polluted" not in state.FLAGS
""",
    "tests/test_d_crash_setup.py": """
import state

def test_arms_crash():
    state.FLAGS["crash"] = True
""",
    "tests/test_e_crash.py": """
import os
import state

def test_crashes_when_armed():
    if state.FLAGS.get("crash"):
        os._exit(3)
""",
    "tests/test_f_coin.py": """
import os

def test_coin():
    assert os.urandom(1)[0] < 128
""",
    "tests/test_g_more.py": "",
}
TESTS = 70


@dataclass
class Side:
    name: str
    seeds_seconds: float = 0.0
    same_plan_seconds: float | None = None  # with --random: the older version's very plan
    verdicts: dict[str, str] = field(default_factory=dict)
    bisects: dict[str, tuple[float, str]] = field(default_factory=dict)  # by label


def write_suite(root: Path) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (root / "state.py").write_text("FLAGS: dict[str, object] = {}\n")
    planted = sum(body.count("def test_") for body in FILES.values())
    fillers = TESTS - planted
    per_file = -(-fillers // len(FILES))
    for number, (name, body) in enumerate(FILES.items()):
        count = min(per_file, fillers)
        fillers -= count
        extra = "".join(f"def test_filler_{number}_{i}():\n    assert True\n\n"
                        for i in range(count))
        (root / name).write_text(body + "\n\n" + extra)


def isoscan(side_env: dict[str, str], root: Path, args: list[str]) -> tuple[float, str, int]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "isoscan", *args], cwd=root, env=side_env,
                          capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc.stdout + proc.stderr, proc.returncode


def measure(name: str, source: Path | None, workdir: Path) -> Side:
    side = Side(name)
    root = workdir / name
    write_suite(root)
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    if source is not None:  # the other checkout's package first on the path, for every child
        env["PYTHONPATH"] = str(source / "src")
    seconds, output, code = isoscan(env, root, [*SEEDS_ARGS, "--json", "seeds.json"])
    side.seeds_seconds = seconds
    if not (root / "seeds.json").exists():
        raise SystemExit(f"{name}: seeds wrote no report (exit {code}):\n{output[-3000:]}")
    report = json.loads((root / "seeds.json").read_text())
    side.verdicts = {t["nodeid"]: t["verdict"] for t in report["tests"]
                     if t["nodeid"] in JUDGED}
    print(f"{name}: seeds {seconds:.0f}s, verdicts {side.verdicts}", flush=True)
    if source is None:  # this checkout: the older version's plan too, in a store of its own
        seconds, output, code = isoscan(env, root, [*SEEDS_ARGS, "--random", "--store",
                                                    ".isoscan-random", "--json", "random.json"])
        side.same_plan_seconds = seconds
        drawn = json.loads((root / "random.json").read_text()) if code in (0, 1) else {}
        verdicts = {t["nodeid"]: t["verdict"] for t in drawn.get("tests", [])
                    if t["nodeid"] in JUDGED}
        print(f"{name}: seeds --random {seconds:.0f}s, verdicts {verdicts}", flush=True)
    for victim, extra in BISECTS:
        seconds, output, code = isoscan(env, root, ["bisect", victim, *extra, "--json",
                                                    "bisect.json"])
        answer = json.loads((root / "bisect.json").read_text()) if code in (0, 1) else {}
        found = answer.get("polluters") or answer.get("kind") or f"exit {code}"
        side.bisects[_label(victim, extra)] = (seconds, json.dumps(found))
        print(f"{name}: bisect {_label(victim, extra)} {seconds:.0f}s: {found}", flush=True)
    return side


def _label(victim: str, extra: list[str]) -> str:
    return " ".join([victim.rsplit("::", 1)[1], *extra])


def judged(fails: random.Random, rule: Rule) -> bool:
    """Whether the rule gives a test failing half the time an order verdict (the path of
    seeds/confirm.py: alone first, then the order, then both sides by the rule)."""
    def coin() -> bool:
        return fails.random() < 0.5

    alone_fails = coin()
    if coin() == alone_fails:  # the first replay of the order already disagrees
        return False
    check = Confirmation(rule, misbehaved=1, behaved=1)
    if alone_fails:  # brittle: the order must pass, alone must fail
        check.settle(lambda: not coin(), coin)
    else:
        check.settle(coin, lambda: not coin())
    return check.contradicted_by is None


def simulations() -> None:
    for label, rule in (("--confidence 0.99 (default)", Rule()),
                        ("three a side (the old --replays 3)", Rule(0.95))):
        rng = random.Random(20240615)
        wrong = sum(judged(rng, rule) for _ in range(100))
        print(f"  {label}: non-deterministic in {100 - wrong} of 100 seeded simulations")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of the version to compare with")
    parser.add_argument("--keep", type=Path, help="keep the suites and stores here")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="isoscan-hangs-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        sides = [measure("after", None, workdir)]
        if args.before is not None:
            sides.append(measure("before", args.before.resolve(), workdir))
        print()
        print("| | " + " | ".join(s.name for s in sides) + " |")
        print("|---|" + "---|" * len(sides))
        print("| `seeds --count 6 --workers 0,2 --timeout 60` | "
              + " | ".join(f"{s.seeds_seconds:.0f} s" for s in sides) + " |")
        print("| the same, the older version's plan (`--random` here) | "
              + " | ".join(f"{s.same_plan_seconds:.0f} s" if s.same_plan_seconds is not None
                           else f"{s.seeds_seconds:.0f} s" for s in sides) + " |")
        for victim, extra in BISECTS:
            label = _label(victim, extra)
            print(f"| `bisect {label}` | "
                  + " | ".join(f"{s.bisects[label][0]:.0f} s: {s.bisects[label][1]}"
                               for s in sides) + " |")
        for victim in JUDGED:
            print(f"| verdict of {victim.rsplit('::', 1)[1]} | "
                  + " | ".join(s.verdicts.get(victim, "?") for s in sides) + " |")
        if len(sides) == 2:
            same = sides[0].verdicts == sides[1].verdicts
            print(f"\nverdicts identical: {same}")
        print("\nThe rule, on a test failing half the time:")
        simulations()
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
