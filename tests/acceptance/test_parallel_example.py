"""examples/parallel: the other half of "parallel-only" for each of its four planted bugs.

Whether a `pytest -n 2` run catches them depends on timing, so that is not asserted (the demo
keeps the one collision a session reliably catches, and tests/acceptance/test_parallel_culprits.py
asserts the search on suites built to collide). What is asserted is that the whole example passes
serially, in the collected order and reversed: none of its failures is an order dependence. Runs
on a copy, so the shared folder and port are this test's own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import suitegen

EXAMPLE = suitegen.EXAMPLES / "parallel"


@pytest.mark.parametrize("order", ["collected", "reversed"])
def test_whole_example_passes_serially(tmp_path: Path, order: str) -> None:
    root = tmp_path / "parallel"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".demo-shared"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COLUMNS"))}
    extra = ["-p", "isoscan.plugin", "--isoscan-reverse"] if order == "reversed" else []
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "-v",
         *extra, "tests"], cwd=root, env=env, capture_output=True, text=True, timeout=300,
        check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ran = re.findall(r"^(tests/\S+::\S+) PASSED", proc.stdout, re.MULTILINE)
    assert len(ran) == 11, proc.stdout
    victims = ["tests/audit/test_audit_review.py::test_report_sees_no_foreign_rows",
               "tests/ledger/test_ledger_report.py::test_ledger_report_starts_empty",
               "tests/pool/test_pool_orders.py::test_pool_orders_collection_is_private",
               "tests/svc/test_svc_health.py::test_health_server_starts"]
    assert set(victims) <= set(ran)
