"""What installing isoscan costs a pytest run that does not use it: the same 2,000-test suite
(record_overhead.py's) run with the plugin found by its ``pytest11`` entry point and no isoscan
option, and with ``-p no:isoscan`` (the plugin not loaded at all), in interleaved pairs.

Each pair runs both commands back to back, which one first alternating from pair to pair; a
pair's ratio is loaded / not loaded, and the result is the median ratio of the pairs. Both
commands write JUnit XML; the benchmark checks that the two files differ in nothing but their
timing attributes. The floor is the cost of importing the plugin module and adding its options
once per process: nothing of it runs per test.

Run: ``python benchmarks/plugin_inert.py [--pairs 7] [--workers 0,2]``.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record_overhead import write_suite

TIMING = re.compile(rb' (time|timestamp|hostname)="[^"]*"')


def run(root: Path, workers: int, junit: Path, loaded: bool) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, xdist workers included) of one run."""
    argv = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
            "-p", "no:randomly", f"--junitxml={junit}"]
    if workers:
        argv += ["-n", str(workers)]
    if not loaded:
        argv += ["-p", "no:isoscan"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=root, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"pytest failed ({done.returncode}):\n{done.stdout[-2000:]!r}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7, help="interleaved pairs per mode")
    parser.add_argument("--workers", default="0,2", help="worker counts to measure, e.g. 0,2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_suite(root)
        for workers in (int(w) for w in args.workers.split(",")):
            on, off = root / "on.xml", root / "off.xml"
            run(root, workers, on, True)
            run(root, workers, off, False)  # warm-up: page cache, imports
            if sorted(TIMING.sub(b"", on.read_bytes()).splitlines()) != sorted(
                    TIMING.sub(b"", off.read_bytes()).splitlines()):
                raise SystemExit("the JUnit XML differs beyond its timing attributes")
            walls, cpus = [], []
            for pair in range(args.pairs):
                first = pair % 2 == 0
                a = run(root, workers, on if first else off, first)
                b = run(root, workers, off if first else on, not first)
                loaded, unloaded = (a, b) if first else (b, a)
                walls.append(loaded[0] / unloaded[0])
                cpus.append(loaded[1] / unloaded[1])
            for what, ratios in (("wall", walls), ("CPU", cpus)):
                print(f"-n {workers}, {what}: entry point loaded, no isoscan option / "
                      f"-p no:isoscan: median {statistics.median(ratios):.3f} over "
                      f"{args.pairs} pairs (min {min(ratios):.3f}, max {max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
