"""Where the time of a parallel-only bisect goes, per victim, against a baseline in the same run.

Two suites, each copied or generated in a temporary folder and flagged by `isoscan seeds`
under xdist; then `isoscan bisect VICTIM --run ID` runs for every parallel-only victim from
each of up to `--runs` stored xdist runs where it failed (which tests ran beside it, and when,
differs from run to run), with the isoscan of `--baseline-python PY` (the main branch's venv,
say) and with this checkout's, one after the other, from the same stored runs:

- `demo`: `examples/demo` (`seeds --count N --workers 0,2`), whose parallel-only victims are
  the project's shop window;
- `many`: a generated suite where one of 200 short tests on the other worker touches the file
  the victim watches (the 200-suspect case of tests/acceptance/test_parallel_culprits.py): how
  many replays the search needs among many suspects.

Printed per bisect and engine, from the store's runs (every trial is a stored run with its
start and length; every concurrent replay keeps its timetable and each test's recorded start,
body and end): the wall seconds and the phases they went to,

- `start`: from the command's start to its first trial (interpreter, collection, fork server);
- `serial`: the serial trials (alone, its worker's order, the merged leftover replay);
- `replays`: the concurrent replays, split into `lanes` (from a replay's start until its lanes'
  common start: forks or subprocesses, broad fixtures), `before` (from the common start to
  the victim's body: earlier tests and their recorded offsets), `victim` (its body) and
  `after` (the other lanes finishing, exits, records);
- `rest`: everything else (shrinking decisions, the store, the report);

then the replays, the culprit named, and the **floor under the rule**: the fewest replays the
stated rule needs for one culprit that fails every time — 4 with nothing beside it before and
4 after, 1 beside all suspects (the first evidence of a collision, and the resource map), 4
beside the culprit, 4 beside the other suspects when there are any: 17 — each at the shortest
length this bisect's replays of that kind measured. No search under the same rule goes below
it; start-up and serial steps come on top. Last, the median per engine, the ratio baseline /
this checkout, and the median floor.

Run: `python benchmarks/parallel_bisect.py [--suite demo|many|all] [--count N] [--runs N]
[--baseline-python PY] [--keep DIR]`.
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
from dataclasses import dataclass, field
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"
TIMEOUTS = {"demo": "2", "many": "20"}  # per-test --timeout: the watcher runs for 2 s
ALONE_RULE = 4  # replays with nothing beside it, before the search and again after it
VERIFY_RULE = 4  # replays beside the culprit the rule needs when it fails every time
OTHERS_RULE = 4  # replays beside the other suspects, all passing

WATCHER = """
import os
import time

MARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "busy.mark")


def test_watcher_never_sees_a_mark():
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        try:
            with open(MARK):
                raise AssertionError("someone else's mark is there")
        except FileNotFoundError:
            pass
        time.sleep(0.002)
"""


@dataclass
class Replay:
    seconds: float
    tests: frozenset[str]  # what the replay ran beside the victim (its context aside)
    lanes: float = 0.0
    before: float = 0.0
    victim: float = 0.0
    after: float = 0.0


@dataclass
class Bisected:
    victim: str
    seconds: float
    trials: int
    culprits: list[list[str]]
    suspects: int
    start: float = 0.0
    serial: float = 0.0
    replays: list[Replay] = field(default_factory=list)

    @property
    def replay_seconds(self) -> float:
        return sum(r.seconds for r in self.replays)

    @property
    def rest(self) -> float:
        return max(0.0, self.seconds - self.start - self.serial - self.replay_seconds)

    def phase(self, name: str) -> float:
        return float(sum(getattr(r, name) for r in self.replays))

    def floor(self) -> float:
        """The stated rule's fewest replays for one culprit that fails every time, each at the
        shortest length this search measured for its kind; 0 when nothing was blamed."""
        if not self.culprits or not self.replays:
            return 0.0
        culprit = frozenset(self.culprits[0])
        widest = max(len(r.tests) for r in self.replays)
        alone = [r.seconds for r in self.replays if not r.tests]
        everything = [r.seconds for r in self.replays if len(r.tests) == widest]
        beside = [r.seconds for r in self.replays if r.tests == culprit]
        others = [r.seconds for r in self.replays if r.tests and not r.tests & culprit]
        total = 2 * ALONE_RULE * min(alone, default=0.0) + min(everything, default=0.0)
        total += VERIFY_RULE * min(beside, default=0.0)
        if self.suspects > len(culprit):
            total += OTHERS_RULE * min(others, default=0.0)
        return total


def isoscan(python: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", "isoscan", *args], cwd=cwd, capture_output=True,
                          text=True, check=False)


def flagged(root: Path) -> list[str]:
    doc = json.loads((root / "seeds.json").read_text())
    return [t["nodeid"] for t in doc["tests"] if t["verdict"] == "parallel-only"]


def demo_suite(root: Path, count: int) -> None:
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns(".isoscan", ".demo-shared"))
    isoscan(sys.executable, root, "seeds", "--count", str(count), "--workers", "0,2",
            "--timeout", TIMEOUTS["demo"], "--json", str(root / "seeds.json"), "tests")


def many_suite(root: Path, count: int) -> None:
    """200 short tests on one worker, one of which leaves a mark file for 50 ms, beside a
    watcher on the other: `--dist loadfile` gives each file a worker."""
    batch = ["import os\nimport time\n\nMARK = os.path.join(os.path.dirname("
             "os.path.abspath(__file__)), '..', 'busy.mark')\n"]
    for i in range(200):
        body = ("    with open(MARK, 'w') as f:\n        f.write('x')\n    time.sleep(0.05)\n"
                "    os.remove(MARK)\n" if i == 100 else "    pass\n")
        batch.append(f"\n\ndef test_batch_{i}():\n{body}")
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_batch.py").write_text("".join(batch))
    (root / "tests" / "test_watcher.py").write_text(WATCHER)
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\naddopts = --dist loadfile\n")
    for _ in range(max(1, count)):  # xdist's scheduling decides whether they meet
        isoscan(sys.executable, root, "seeds", "--count", "0", "--workers", "2", "--timeout",
                TIMEOUTS["many"], "--json", str(root / "seeds.json"), "tests")
        if flagged(root):
            return


SUITES = {"demo": demo_suite, "many": many_suite}


def phases(store: Path, after: int, victim: str, b: Bisected, launched: float) -> None:
    """Fills ``b``'s phases from the runs stored after run ``after``."""
    db = sqlite3.connect(store / "isoscan.db")
    try:
        runs = db.execute("SELECT id, workers, seconds, started, dir FROM runs WHERE id > ? "
                          "ORDER BY id", (after,)).fetchall()
        if runs:
            b.start = max(0.0, float(runs[0][3]) - launched)
        for run_id, workers, seconds, started, folder in runs:
            schedule = Path(folder) / "schedule.json"
            if not workers or not schedule.is_file():
                b.serial += float(seconds or 0.0)
                continue
            at = {str(k): float(v) for k, v in json.loads(schedule.read_text())["at"].items()}
            rows = db.execute("SELECT nodeid, started, body, finished, worker FROM executions "
                              "WHERE run_id = ?", (run_id,)).fetchall()
            b.replays.append(_replay(float(seconds or 0.0), float(started), at, rows, victim))
    finally:
        db.close()


def _replay(seconds: float, started: float, at: dict[str, float],
            rows: list[tuple[str, float | None, float | None, float | None, str]],
            victim: str) -> Replay:
    mine = next((r for r in rows if r[0] == victim), None)
    lane = mine[4] if mine is not None else ""
    beside = frozenset(r[0] for r in rows if r[4] != lane)
    replay = Replay(seconds, beside)
    # Every body is held until ``common start + at``, so the earliest body minus its offset is
    # that common start (within the lanes' scheduling jitter).
    held = [(r[2] if r[2] is not None else r[1]) - at[r[0]] for r in rows
            if r[0] in at and (r[2] is not None or r[1] is not None)]
    if not held or mine is None or mine[1] is None:
        return replay
    common = min(held)
    body = mine[2] if mine[2] is not None else mine[1]
    end = mine[3] if mine[3] is not None else body
    replay.lanes = max(0.0, common - started)
    replay.before = max(0.0, body - common)
    replay.victim = max(0.0, end - body)
    replay.after = max(0.0, seconds - replay.lanes - replay.before - replay.victim)
    return replay


def last_run(store: Path) -> int:
    db = sqlite3.connect(store / "isoscan.db")
    try:
        return int(db.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0])
    finally:
        db.close()


def failing_runs(store: Path, victim: str, most: int) -> list[int]:
    """The stored xdist runs of seeds in which ``victim`` failed, newest first: each is a
    separate start for its bisect (the suspects and their offsets differ from run to run)."""
    db = sqlite3.connect(store / "isoscan.db")
    try:
        rows = db.execute("SELECT r.id FROM runs r JOIN results x ON x.run_id = r.id WHERE "
                          "r.purpose = 'plan' AND r.workers > 0 AND x.nodeid = ? AND "
                          "x.outcome IN ('failed', 'error') ORDER BY r.id DESC LIMIT ?",
                          (victim, most)).fetchall()
    finally:
        db.close()
    return [int(r[0]) for r in rows]


def bisect_all(python: str, root: Path, victims: list[str], timeout: str,
               runs: int) -> list[Bisected]:
    found = []
    for victim in victims:
        for run in failing_runs(root / ".isoscan", victim, runs) or [None]:
            before = last_run(root / ".isoscan")
            out = root / "bisect.json"
            out.unlink(missing_ok=True)
            launched = time.time()
            started = time.monotonic()
            isoscan(python, root, "bisect", victim, *(["--run", str(run)] if run else []),
                    "--timeout", timeout, "--json", str(out))
            seconds = time.monotonic() - started
            doc = json.loads(out.read_text()) if out.exists() else {}
            parallel = doc.get("parallel") or {}
            b = Bisected(f"{victim} (run #{run})" if run else victim, seconds,
                         int(doc.get("trials") or 0), doc.get("polluters") or [],
                         int(parallel.get("candidates") or 0))
            phases(root / ".isoscan", before, victim, b, launched)
            found.append(b)
    return found


def show(name: str, results: list[Bisected]) -> tuple[float, float]:
    print(f"\n{name}")
    for b in results:
        culprits = "; ".join(", ".join(s) for s in b.culprits) or "(none)"
        print(f"  {b.victim}\n"
              f"    {b.seconds:5.1f}s = start {b.start:4.1f} + serial {b.serial:4.1f} + "
              f"replays {b.replay_seconds:4.1f} (lanes {b.phase('lanes'):4.1f}, before "
              f"{b.phase('before'):4.1f}, victim {b.phase('victim'):4.1f}, after "
              f"{b.phase('after'):4.1f}) + rest {b.rest:4.1f}\n"
              f"    {b.trials} trials, {len(b.replays)} replays among {b.suspects} suspects; "
              f"floor under the rule {b.floor():4.1f}s\n"
              f"    culprits: {culprits}")
    median = statistics.median(b.seconds for b in results) if results else 0.0
    floors = statistics.median(b.floor() for b in results) if results else 0.0
    replays = statistics.median(len(b.replays) for b in results) if results else 0.0
    print(f"  median {median:.1f}s and {replays:g} replays per bisect; median floor "
          f"{floors:.1f}s")
    return median, replays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="all")
    parser.add_argument("--count", type=int, default=4,
                        help="planned orders for the demo's seeds; tries for the other suite")
    parser.add_argument("--runs", type=int, default=3,
                        help="bisect each victim from up to this many failing xdist runs")
    parser.add_argument("--baseline-python", default=None,
                        help="an interpreter whose isoscan is the baseline (same run)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder here")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="isoscan-pbisect-"))
    engines = [("this checkout", sys.executable)]
    if args.baseline_python:
        engines.insert(0, ("baseline", args.baseline_python))
    code = 0
    for suite, make in SUITES.items():
        if args.suite not in (suite, "all"):
            continue
        root = work / suite
        shutil.rmtree(root, ignore_errors=True)
        make(root, args.count)
        victims = flagged(root) if (root / "seeds.json").is_file() else []
        print(f"\n== {suite}: {len(victims)} parallel-only victims flagged")
        if not victims:
            code = 1
            continue
        medians = {name: show(name, bisect_all(python, root, victims, TIMEOUTS[suite],
                                               args.runs))
                   for name, python in engines}  # one after the other, from one seeds run
        if "baseline" in medians and medians["this checkout"][0]:
            (base, base_replays), (mine, my_replays) = medians["baseline"], medians[
                "this checkout"]
            print(f"\n  {suite}: median per bisect: baseline {base:.1f}s ({base_replays:g} "
                  f"replays), this checkout {mine:.1f}s ({my_replays:g} replays), ratio "
                  f"{base / mine:.2f}x")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
