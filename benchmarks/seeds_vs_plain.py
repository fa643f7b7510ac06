"""`isoscan seeds --count 10 --workers 0,2` on examples/demo against the same 24 runs done with
plain pytest (same orders, same seeds, same worker counts, same per-test timeout), in one run.
Planned orders reach plain pytest through isoscan's plugin (`--isoscan-order`, the run's own
order file), the only way pytest takes a given order.

Plain pytest gets no recording, no crash resume (a crash ends its run early), no confirmation
and no verdicts; the ratio is what all of that costs. Run: `python benchmarks/seeds_vs_plain.py`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"
PLAN_SEED = 2024
TIMEOUT = "2"


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="isoscan-seeds-bench-"))
    root = work / "demo"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("*.lock", "__pycache__"))
    try:
        started = time.perf_counter()
        report = root / "report.json"
        subprocess.run([sys.executable, "-m", "isoscan", "seeds", "tests", "--count", "10",
                        "--plan-seed", str(PLAN_SEED), "--workers", "0,2", "--timeout", TIMEOUT,
                        "--json", str(report)], cwd=root, capture_output=True, check=False)
        isoscan_seconds = time.perf_counter() - started
        document = json.loads(report.read_text())
        runs = document["runs"]
        started = time.perf_counter()
        for run in runs:
            argv = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
                    "-p", "timeout", f"--timeout={TIMEOUT}", "-n", str(run["workers"])]
            if run["order"] == "random":
                argv += ["-p", "randomly", f"--randomly-seed={run['seed']}"]
            elif run["order"] == "planned":
                # The planned order from its order file in the store, under its seed context.
                order_file = root / ".isoscan" / "runs" / str(run["id"]) / "seg0" / "order.txt"
                argv += ["-p", "isoscan.plugin", f"--isoscan-order={order_file}", "-p", "randomly",
                         f"--randomly-seed={run['seed']}", "--randomly-dont-reorganize"]
            else:
                argv += ["-p", "no:randomly"]
            if run["order"] == "reversed":
                argv += ["-p", "isoscan.plugin", "--isoscan-reverse"]
            subprocess.run(argv, cwd=root, capture_output=True, check=False)
        plain_seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = document["summary"]
    plan_seconds = sum(r["seconds"] for r in runs)
    print(f"plan: {len(runs)} runs of {len(document['tests'])} tests")
    print(f"plain pytest, the same {len(runs)} runs:       {plain_seconds:7.1f} s")
    print(f"isoscan seeds (runs alone):            {plan_seconds:7.1f} s")
    print(f"isoscan seeds (runs + confirmation):   {isoscan_seconds:7.1f} s "
          f"({isoscan_seconds / plain_seconds:.2f}x plain), {document['trials']} trials")
    print(f"verdicts: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
