"""What recording an ordinary pytest run costs: the same 2,000-test suite run with plain pytest
and with isoscan's recorder (``-p isoscan.plugin --isoscan-record=DIR``, as the CI examples run
it), serially and with ``-n 2``, in interleaved pairs.

Each pair runs both commands back to back, which one first alternating from pair to pair, so
that a slow spell of the machine hits both; a pair's ratio is recorded / plain, and the result
is the median ratio of the pairs. Both commands write JUnit XML, as a CI job does.

Wall time is what the goal is about (<= 2 %), and on a shared machine it is also what other
tenants move most; so the CPU time of the pytest processes (user + system, workers included)
is measured alongside, from the same runs. Last, one more recorded run times the recorder
itself: a plugin loaded before isoscan's wraps each of the Recorder's hooks with a clock, and
each process writes the seconds spent in them (the cost of recording, less pluggy's call of
those hooks and the import of the plugin), set against the plain run's median wall time.

With ``--instructions`` (needs valgrind), each mode also runs once more per command under
valgrind's cachegrind, which counts the instructions every process executed (xdist workers
and git included): a count that other tenants of the machine do not move.

Run: ``python benchmarks/record_overhead.py [--pairs 7] [--workers 0,2] [--instructions]``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

FILES = 40
PER_FILE = 50  # 40 files x 50 tests = 2,000 tests


def write_suite(root: Path) -> None:
    """Tests of the usual kinds: plain asserts, a fixture, parametrized cases, a class, and
    a little work each (a dict, a sort, a string), all passing."""
    tests = root / "tests"
    tests.mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    for number in range(FILES):
        body = textwrap.dedent(f"""
            import pytest


            @pytest.fixture
            def table():
                return {{f"key{{i}}": i * {number} for i in range(50)}}


            @pytest.mark.parametrize("n", range(10))
            def test_sorted_{number}(n):
                assert sorted(range(n, 0, -1)) == list(range(1, n + 1))


            class TestTable{number}:
        """)
        for i in range(PER_FILE - 10 - 20):
            body += (f"    def test_lookup_{i}(self, table):\n"
                     f"        assert table['key{i % 50}'] == {i % 50} * {number}\n\n")
        for i in range(20):
            body += (f"def test_text_{i}():\n"
                     f"    assert ','.join(str(x) for x in range({i})).count(',') == "
                     f"max({i} - 1, 0)\n\n\n")
        (tests / f"test_module_{number:02d}.py").write_text(body)


# Loaded with -p before isoscan's plugin registers its Recorder: each hook of the Recorder is
# timed (wall and CPU of the thread), and each process writes its totals when it exits.
CLOCK = """
import atexit, functools, os, time
from pathlib import Path
from isoscan.plugin.recorder import Recorder

TOTAL = [0.0, 0.0]
HOOKS = ("pytest_sessionstart", "pytest_collection_finish", "pytest_runtest_setup",
         "pytest_runtest_logstart", "pytest_runtest_logreport", "pytest_runtest_logfinish",
         "pytest_sessionfinish", "pytest_configure_node")

def clocked(method):
    @functools.wraps(method)  # keeps pluggy's tryfirst/trylast marks
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return method(*args, **kwargs)
        finally:
            TOTAL[0] += time.perf_counter() - wall
            TOTAL[1] += time.thread_time() - cpu
    return timed

for name in HOOKS:
    setattr(Recorder, name, clocked(getattr(Recorder, name)))

@atexit.register
def _report():
    out = Path(os.environ["RECORDER_CLOCK_DIR"]) / f"{os.getpid()}.txt"
    out.write_text(f"{TOTAL[0]} {TOTAL[1]}")
"""


def command(workers: int, junit: Path, record: Path | None, clock: bool = False) -> list[str]:
    argv = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
            f"--junitxml={junit}"]
    if workers:
        argv += ["-n", str(workers)]
    if clock:
        argv += ["-p", "recorder_clock"]
    if record is not None:
        argv += ["-p", "isoscan.plugin", f"--isoscan-record={record}"]
    return argv


Times = tuple[float, float]  # wall seconds, CPU seconds


def timed(argv: list[str], cwd: Path) -> Times:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"pytest failed ({done.returncode}):\n{done.stdout[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def measure(root: Path, workers: int, pairs: int) -> tuple[list[Times], list[Times]]:
    junit = root / "junit.xml"
    record = root / "record"
    plain_times: list[Times] = []
    recorded_times: list[Times] = []

    def plain() -> Times:
        return timed(command(workers, junit, None), root)

    def recorded() -> Times:
        shutil.rmtree(record, ignore_errors=True)  # one run per folder, as in CI
        return timed(command(workers, junit, record), root)

    plain()
    recorded()  # warm-up: page cache, imports
    for pair in range(pairs):
        if pair % 2 == 0:
            plain_times.append(plain())
            recorded_times.append(recorded())
        else:
            recorded_times.append(recorded())
            plain_times.append(plain())
    events = sum(len(p.read_text().splitlines()) for p in record.glob("*.jsonl"))
    print(f"  -n {workers}: the last recorded run wrote {events} events in "
          f"{len(list(record.glob('*.jsonl')))} files")
    return plain_times, recorded_times


def recorder_seconds(root: Path, workers: int) -> tuple[float, float]:
    """Seconds spent in the Recorder's hooks (wall, CPU), per process: summed for a serial
    run; under xdist, summed over the workers and divided by their number, as they run side
    by side."""
    clocks = root / "clocks"
    shutil.rmtree(clocks, ignore_errors=True)
    clocks.mkdir()
    shutil.rmtree(root / "record", ignore_errors=True)
    argv = command(workers, root / "junit.xml", root / "record", clock=True)
    env = {**os.environ, "RECORDER_CLOCK_DIR": str(clocks), "PYTHONPATH": str(root)}
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"pytest failed ({done.returncode}):\n{done.stdout[-2000:]}")
    totals = [tuple(float(x) for x in p.read_text().split()) for p in clocks.glob("*.txt")]
    share = max(workers, 1)
    return sum(t[0] for t in totals) / share, sum(t[1] for t in totals) / share


def instructions(root: Path, workers: int, record: bool) -> int:
    """Instructions executed by the run's processes, counted by valgrind (cachegrind)."""
    shutil.rmtree(root / "record", ignore_errors=True)
    argv = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
            "--trace-children=yes",
            *command(workers, root / "junit.xml", root / "record" if record else None)]
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
    counts = re.findall(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or not counts:
        raise SystemExit(f"valgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return sum(int(count.replace(",", "")) for count in counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7, help="interleaved pairs per mode (>= 5)")
    parser.add_argument("--workers", default="0,2", help="worker counts to measure, e.g. 0,2")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions under valgrind (a few minutes a mode)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="isoscan-record-bench-"))
    try:
        write_suite(work)
        (work / "recorder_clock.py").write_text(CLOCK)
        print(f"suite: {FILES * PER_FILE} tests in {FILES} files; {args.pairs} interleaved pairs "
              f"per mode; PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')}")
        rows = []
        inside = []
        for workers in (int(w) for w in args.workers.split(",")):
            plain, recorded = measure(work, workers, args.pairs)
            wall, cpu = recorder_seconds(work, workers)
            inside.append((workers, wall, cpu, statistics.median(p[0] for p in plain)))
            for kind, at in (("wall", 0), ("CPU", 1)):
                ratios = [r[at] / p[at] for p, r in zip(plain, recorded, strict=True)]
                rows.append((f"-n {workers} {kind}", statistics.median(p[at] for p in plain),
                             statistics.median(r[at] for r in recorded),
                             statistics.median(ratios), min(ratios), max(ratios)))
        print(f"{'':<10} {'plain':>8} {'recorded':>9} {'recorded/plain':>15}  "
              "(median of the pairs' ratios; their range)")
        for label, plain_s, recorded_s, ratio, low, high in rows:
            print(f"{label:<10} {plain_s:7.2f}s {recorded_s:8.2f}s {ratio:15.3f}  "
                  f"({low:.3f}-{high:.3f})")
        print("time in the Recorder's hooks, one more recorded run (per process; under xdist "
              "the workers' mean):")
        for workers, wall, cpu, plain_wall in inside:
            print(f"-n {workers:<3} {wall * 1000:6.0f} ms wall, {cpu * 1000:6.0f} ms CPU: "
                  f"{wall / plain_wall:.2%} of the plain run's median wall time")
        if args.instructions:
            print("instructions executed (valgrind; every process of the run):")
            for workers in (int(w) for w in args.workers.split(",")):
                plain_count = instructions(work, workers, record=False)
                recorded_count = instructions(work, workers, record=True)
                print(f"-n {workers:<3} plain {plain_count / 1e9:6.2f} G, recorded "
                      f"{recorded_count / 1e9:6.2f} G: {recorded_count / plain_count:.4f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
