"""One verdict must not hide another: an order-dependent test that also fails under xdist, in
a run whose worker's order passes when replayed serially, is reported parallel-only as well."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from suitegen import fillers, read_json, run_cli, write

VICTIM = "tests/test_b.py::test_victim"
POLLUTER = "tests/test_a.py::test_polluter"
# The victim is order-dependent (a module global the polluter sets) and, like a test that
# hard-codes one database name, fails whenever more than one xdist worker runs.
SUITE = {
    "tests/test_a.py": """
        import state

        def test_polluter():
            state.FLAGS["polluted"] = True
    """,
    "tests/test_b.py": """
        import os

        import state

        def test_victim():
            assert "polluted" not in state.FLAGS
            assert os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") == "1", "shared database"
    """,
    "tests/test_c.py": fillers("c", 4),
}


def test_an_order_dependent_test_that_fails_under_xdist_too_is_parallel_only_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", SUITE))
    out = tmp_path / "r.json"
    code = run_cli(["seeds", "tests", "--count", "1", "--workers", "0,2", "--json", str(out),
                    "--markdown", str(tmp_path / "r.md")])
    report: dict[str, Any] = read_json(out)
    found = {t["nodeid"]: t for t in report["tests"] if t["verdict"] != "stable"}
    assert {n: t["verdict"] for n, t in found.items()} == {VICTIM: "order-dependent"}
    evidence = found[VICTIM]["evidence"]
    also = evidence["also_parallel_only"]
    assert also is not None
    assert POLLUTER not in also["prefix"]  # its worker's order, without the polluter
    assert also["outcomes"] and set(also["outcomes"]) == {"passed"}
    assert report["runs"][[r["id"] for r in report["runs"]].index(also["run_id"])]["workers"] \
        == 2
    assert "also parallel-only" in evidence["note"]
    assert code == 1
    rows = [r for r in (tmp_path / "r.md").read_text().splitlines()
            if r.startswith(f"| `{VICTIM}` |")]
    assert len(rows) == 1 and "| order-dependent + parallel-only | **new** |" in rows[0]
    # The gate fails on it for parallel-only alone too.
    assert run_cli(["report", "--fail-on", "parallel-only"]) == 1
    assert run_cli(["report", "--fail-on", "broken"]) == 0
    capsys.readouterr()
