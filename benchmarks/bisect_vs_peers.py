"""Bisect one polluter on a 1,500-test suite with a slow conftest import, from the same cold
start, in one run: detect-test-pollution, `isoscan bisect --no-fork --no-explain`,
`isoscan bisect --no-explain` (names every independent polluter set: after the first, it runs the
rest of the order once more to check for others), `isoscan bisect --first --no-explain`
(detect-test-pollution's job: name one polluter, verified) and `isoscan bisect` (which also runs
explain on the answer).
Also `isoscan isolate` (every test alone) against one plain full-suite run.

Run with `make bench` (or `python benchmarks/bisect_vs_peers.py [--keep DIR] [--repeat N]`).
Prints wall time, trials (pytest runs) and the ratio to detect-test-pollution measured in this
same run; with `--repeat N`, each tool's median of N rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FILES = 50
TESTS_PER_FILE = 30
IMPORT_SECONDS = 0.5
POLLUTER_FILE = 3
VICTIM_FILE = 46
POLLUTER = f"tests/test_f{POLLUTER_FILE:02d}.py::test_polluter"
VICTIM = f"tests/test_f{VICTIM_FILE:02d}.py::test_victim"


@dataclass
class Measure:
    name: str
    seconds: float
    trials: int | None
    answer: str


def write_suite(root: Path) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    # Stands in for Django / SQLAlchemy / numpy: a module that takes ~0.5 s to import.
    (root / "slowmod.py").write_text(f"import time\ntime.sleep({IMPORT_SECONDS})\nSTATE = {{}}\n")
    (root / "conftest.py").write_text("import slowmod  # noqa: F401\n")
    for n in range(FILES):
        body = ["import slowmod\n"]
        count = TESTS_PER_FILE - (1 if n in (POLLUTER_FILE, VICTIM_FILE) else 0)
        body += [f"def test_{n}_{i}():\n    assert {i} + 1 > {i}\n" for i in range(count)]
        if n == POLLUTER_FILE:
            body.append("def test_polluter():\n    slowmod.STATE['user'] = 'admin'\n")
        if n == VICTIM_FILE:
            body.append("def test_victim():\n    assert 'user' not in slowmod.STATE\n")
        (root / "tests" / f"test_f{n:02d}.py").write_text("\n".join(body))


def timed(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc


def full_suite(root: Path) -> Measure:
    seconds, proc = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly",
                           "-p", "no:cacheprovider", "tests"], root)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "?"
    return Measure("pytest, whole suite once", seconds, 1, last)


def detect_test_pollution(root: Path) -> Measure:
    # Its console script: it re-imports itself into pytest as `-p __main__`.
    script = Path(sys.executable).parent / "detect-test-pollution"
    seconds, proc = timed([str(script), "--failing-test", VICTIM, "--tests", "tests"], root)
    # discovery + alone + whole group + one run per step + double check
    trials = 4 + proc.stdout.count("running step")
    found = [ln.split(": ", 1)[1] for ln in proc.stdout.splitlines()
             if "the polluting test is" in ln]
    return Measure("detect-test-pollution", seconds, trials, found[0] if found else "(none)")


def isoscan_bisect(root: Path, *flags: str) -> Measure:
    """One bisect from the same cold start (a fresh store each time)."""
    name = " ".join(["isoscan bisect", *flags])
    store = Path(tempfile.mkdtemp(prefix="store-", dir=root))
    out = root / "bisect.json"
    argv = [sys.executable, "-m", "isoscan", "bisect", VICTIM, "tests", "--store", str(store),
            "--json", str(out), *flags]
    seconds, proc = timed(argv, root)
    if proc.returncode != 0:
        return Measure(name, seconds, None, f"exit {proc.returncode}: "
                       + proc.stderr.strip()[-200:])
    answer = json.loads(out.read_text())
    polluters = " + ".join(" ".join(group) for group in answer["polluters"])
    return Measure(name, seconds, int(answer["trials"]), polluters)


def isoscan_isolate(root: Path) -> Measure:
    seconds, proc = timed([sys.executable, "-m", "isoscan", "isolate", "tests", "--store",
                           tempfile.mkdtemp(prefix="store-", dir=root)], root)
    lines = [ln for ln in (proc.stdout + proc.stderr).strip().splitlines() if ln.strip()]
    return Measure("isoscan isolate (every test alone)", seconds, None,
                   f"exit {proc.returncode}: {lines[-1] if lines else ''}")


def cold_start(root: Path) -> None:
    """No bytecode or pytest cache left by an earlier measurement, nor its stores."""
    for folder in [*root.rglob("__pycache__"), *root.glob(".pytest_cache"),
                   *root.glob("store-*")]:
        shutil.rmtree(folder, ignore_errors=True)


def median(measures: list[Measure]) -> Measure:
    ordered = sorted(measures, key=lambda m: m.seconds)
    return ordered[(len(ordered) - 1) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", type=Path, help="generate the suite here and keep it")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="measure everything N times, round after round, and report each "
                             "tool's median (default 1)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="isoscan-bench-"))
    if root.exists() and any(root.iterdir()):
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    write_suite(root)
    print(f"suite: {FILES * TESTS_PER_FILE} tests in {FILES} files, conftest import "
          f"{IMPORT_SECONDS}s, polluter {POLLUTER}, victim {VICTIM}")
    # Every tool pays pytest's assertion rewriting per process when bytecode is not cached.
    cached = "off (PYTHONDONTWRITEBYTECODE)" if os.environ.get("PYTHONDONTWRITEBYTECODE") \
        else "on"
    print(f"bytecode cache: {cached}; cpus: {os.cpu_count()}")
    print(f"rounds: {args.repeat} (each tool's median; every measurement from a cold start)")
    plan: list[Callable[[Path], Measure]] = [
        full_suite,
        detect_test_pollution,
        # detect-test-pollution names the polluter and stops; `--no-explain` does the same work.
        lambda r: isoscan_bisect(r, "--no-fork", "--no-explain"),
        lambda r: isoscan_bisect(r, "--no-explain"),
        lambda r: isoscan_bisect(r, "--first", "--no-explain"),
        isoscan_bisect,
        isoscan_isolate,
    ]
    rounds: list[list[Measure]] = [[] for _ in plan]
    try:
        # Round after round rather than tool after tool: a machine that slows down for a
        # while slows every tool alike.
        for _ in range(max(1, args.repeat)):
            for measure, taken in zip(plan, rounds, strict=True):
                cold_start(root)
                taken.append(measure(root))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    base, dtp, nofork, fork, first, explained, isolate = map(median, rounds)
    print()
    print(f"{'tool':<44} {'wall s':>8} {'trials':>7} {'vs dtp':>8}  answer")
    for m in (dtp, nofork, fork, first, explained):
        ratio = dtp.seconds / m.seconds if m.seconds else 0.0
        trials = "?" if m.trials is None else str(m.trials)
        print(f"{m.name:<44} {m.seconds:>8.2f} {trials:>7} {ratio:>7.1f}x  {m.answer}")
    print()
    print(f"{base.name:<44} {base.seconds:>8.2f}  {base.answer}")
    print(f"{isolate.name:<44} {isolate.seconds:>8.2f}  {isolate.answer}")
    print(f"isolate / whole suite: {isolate.seconds / base.seconds:.2f}x")
    print()
    right = all(m.answer == POLLUTER for m in (nofork, fork, first, explained))
    for m, job in ((first, "one polluter, as detect-test-pollution"),
                   (fork, "every independent set")):
        speedup = dtp.seconds / m.seconds
        print(f"goal bisect >= 10x faster than detect-test-pollution, {job}: {speedup:.1f}x "
              f"({'met' if speedup >= 10 else 'NOT met'})")
    ratio = isolate.seconds / base.seconds
    print(f"goal isolate <= 3x one full-suite run: {ratio:.2f}x "
          f"({'met' if ratio <= 3 else 'NOT met'})")
    print(f"isoscan named the planted polluter: {'yes' if right else 'NO'}")
    return 0 if right else 1


if __name__ == "__main__":
    raise SystemExit(main())
