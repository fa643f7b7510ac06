"""Where the time of a collision search goes, per parallel-only victim of the demo suite.

One `isoscan seeds --count N --workers 0,2` run of `examples/demo` (copied to a temporary
folder) flags the parallel-only victims; then `isoscan bisect VICTIM` runs for each one, from that
same stored run, with this checkout's isoscan and, with `--baseline-python PY`, with
the isoscan installed for another interpreter (the main branch's venv, say) in the same run.

Printed per victim: wall seconds, trials, concurrent replays and the seconds they took, the
culprit named; then the median per engine and its ratio to the baseline. The floor: the stated
rule needs, for a collision that fails every time beside one suspect, at least
4 replays with nothing beside it, 1 beside all suspects, 4 beside the culprit, 4 beside the
other suspects (when there are any) and 4 with nothing beside it after the search; times the
shortest replay measured for that victim, that is what no search under the same rule can go
below. The rest is start-up, collection, serial steps (its worker's order, the merged leftover
replay) and shrinking.

Run: `python benchmarks/parallel_bisect.py [--count N] [--baseline-python PY] [--keep DIR]`;
`--keep DIR --again` bisects again from the seeds run kept in DIR.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"
TIMEOUT = "2"


@dataclass
class Bisected:
    victim: str
    seconds: float
    trials: int
    replays: int
    replay_seconds: float
    shortest_replay: float
    culprits: str
    others: bool


def isoscan(python: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", "isoscan", *args], cwd=cwd, capture_output=True,
                          text=True, check=False)


def flag_victims(python: str, root: Path, count: int) -> list[str]:
    out = root / "seeds.json"
    isoscan(python, root, "seeds", "--count", str(count), "--workers", "0,2", "--timeout",
            TIMEOUT, "--json", str(out), "tests")
    doc = json.loads(out.read_text())
    return [t["nodeid"] for t in doc["tests"] if t["verdict"] == "parallel-only"]


def concurrent_runs(store: Path, after: int) -> list[float]:
    """Seconds of each concurrent replay (a run of several lanes) stored after run ``after``."""
    db = sqlite3.connect(store / "isoscan.db")
    try:
        # A concurrent replay is stored with one worker per lane; serial trials with none.
        rows = db.execute("SELECT seconds FROM runs WHERE id > ? AND workers > 0 AND "
                          "purpose != 'plan'", (after,)).fetchall()
    finally:
        db.close()
    return [float(r[0] or 0.0) for r in rows]


def last_run(store: Path) -> int:
    db = sqlite3.connect(store / "isoscan.db")
    try:
        return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0])
    finally:
        db.close()


def bisect_all(python: str, root: Path, victims: list[str]) -> list[Bisected]:
    found = []
    for victim in victims:
        before = last_run(root / ".isoscan")
        out = root / "bisect.json"
        started = time.monotonic()
        isoscan(python, root, "bisect", victim, "--timeout", TIMEOUT, "--json", str(out))
        seconds = time.monotonic() - started
        doc = json.loads(out.read_text()) if out.exists() else {}
        replays = concurrent_runs(root / ".isoscan", before)
        parallel = doc.get("parallel") or {}
        culprits = "; ".join(", ".join(s) for s in doc.get("polluters", [])) or "(none)"
        found.append(Bisected(victim, seconds, int(doc.get("trials") or 0), len(replays),
                              sum(replays), min(replays, default=0.0), culprits,
                              int(parallel.get("candidates") or 0) > 1))
    return found


def floor(b: Bisected) -> float:
    """The stated rule's fewest replays for one culprit that fails every time, at the
    shortest replay this victim's search measured."""
    replays = 4 + 1 + 4 + (4 if b.others else 0) + 4
    return replays * b.shortest_replay


def show(name: str, results: list[Bisected]) -> float:
    print(f"\n{name}")
    for b in results:
        print(f"  {b.seconds:6.1f}s  {b.trials:3d} trials  {b.replays:3d} replays "
              f"({b.replay_seconds:5.1f}s, shortest {b.shortest_replay:.2f}s, floor "
              f"{floor(b):5.1f}s)  {b.victim}\n      culprits: {b.culprits}")
    median = statistics.median(b.seconds for b in results) if results else 0.0
    floors = statistics.median(floor(b) for b in results) if results else 0.0
    print(f"  median {median:.1f}s per victim; median floor {floors:.1f}s")
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4, help="planned orders for seeds")
    parser.add_argument("--baseline-python", default=None,
                        help="an interpreter whose isoscan is the baseline (same run)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    parser.add_argument("--again", action="store_true",
                        help="with --keep: bisect from the seeds run kept there, not a new one")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="isoscan-pbisect-"))
    seeded = work / "seeded"
    if args.again and args.keep is not None and (seeded / "seeds.json").is_file():
        doc = json.loads((seeded / "seeds.json").read_text())
        victims = [t["nodeid"] for t in doc["tests"] if t["verdict"] == "parallel-only"]
    else:
        shutil.rmtree(seeded, ignore_errors=True)
        shutil.copytree(DEMO, seeded, ignore=shutil.ignore_patterns(".isoscan", ".demo-shared"))
        victims = flag_victims(sys.executable, seeded, args.count)
    print(f"{len(victims)} parallel-only victims flagged: {', '.join(victims) or '-'}")
    if not victims:
        return 1
    engines = [("this checkout", sys.executable)]
    if args.baseline_python:
        engines.insert(0, ("baseline", args.baseline_python))
    medians = {}
    for name, python in engines:  # one after the other, from the same stored seeds run
        medians[name] = show(name, bisect_all(python, seeded, victims))
    if "baseline" in medians and medians["this checkout"]:
        print(f"\nmedian per victim: baseline {medians['baseline']:.1f}s, this checkout "
              f"{medians['this checkout']:.1f}s, ratio "
              f"{medians['baseline'] / medians['this checkout']:.2f}x")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
