"""isoscan seeds on generated suites: plan, faults, exit codes, JSON, recorded orders."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from suitegen import fillers, read_json, run_cli, write

POLLUTED_PAIR = {
    "tests/test_a.py": """
import state

def test_polluter():
    state.FLAGS["polluted"] = True
""",
    "tests/test_b.py": """
import state

def test_victim():
    assert "polluted" not in state.FLAGS
""",
}


def seeds(tmp_path: Path, *args: str) -> tuple[int, dict[str, object]]:
    out = tmp_path / "report.json"
    code = run_cli(["seeds", *args, "--json", str(out)])
    return code, read_json(out) if out.exists() else {}


def verdicts(report: dict[str, object]) -> dict[str, str]:
    tests = report["tests"]
    assert isinstance(tests, list)
    return {t["nodeid"]: t["verdict"] for t in tests}


def test_json_report_has_the_documented_keys(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", POLLUTED_PAIR))
    code, report = seeds(tmp_path, "tests", "--seed", "1", "--seed", "2")
    assert code == 1
    assert report["schema"] == "isoscan.report/1"
    runs = report["runs"]
    assert isinstance(runs, list)
    assert [(r["order"], r["seed"], r["workers"]) for r in runs] == [
        ("collected", None, 0), ("reversed", None, 0), ("random", 1, 0), ("random", 2, 0)]
    assert all({"id", "status", "exit_code"} <= set(r) for r in runs)
    assert verdicts(report) == {"tests/test_a.py::test_polluter": "stable",
                                "tests/test_b.py::test_victim": "order-dependent"}
    tests = report["tests"]
    assert isinstance(tests, list)
    victim = next(t for t in tests if t["nodeid"].endswith("test_victim"))
    first, second = runs[0]["id"], runs[1]["id"]
    assert victim["outcomes"][str(first)] == "failed"  # collected: polluter first
    assert victim["outcomes"][str(second)] == "passed"  # reversed: victim first


def test_clean_suite_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", {"tests/test_ok.py": fillers("ok", 5)}))
    code, report = seeds(tmp_path, "tests", "--count", "2")
    assert code == 0
    assert set(verdicts(report).values()) == {"stable"}


@pytest.mark.parametrize("args, message", [
    (["--bogus"], "No such option '--bogus'"),
    (["--count", "-3"], "--count"),
    (["--workers", "two"], "--workers takes worker counts like 0,2,4"),
    (["--fail-on", "sometimes"], "unknown kind 'sometimes'"),
    (["missing_dir"], "path not found: missing_dir"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str],
                                               args: list[str], message: str) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", POLLUTED_PAIR))
    assert run_cli(["seeds", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "suite" / ".isoscan" / "runs").exists()


def test_collection_error_exits_3_with_pytests_message(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", {"tests/test_bad.py": "import no_such_module\n"}))
    assert run_cli(["seeds", "tests", "--count", "1"]) == 3
    err = capsys.readouterr().err
    assert "the suite could not run" in err
    assert "No module named 'no_such_module'" in err
    assert "Traceback (most recent call last)" not in err.split("isoscan: error")[0]


def test_no_tests_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", {"tests/test_empty.py": "X = 1\n"}))
    assert run_cli(["seeds", "tests", "--count", "1"]) == 3
    assert "collected no tests" in capsys.readouterr().err


def test_crashing_test_is_marked_and_the_run_resumes(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", {
        "tests/test_a.py": fillers("before", 3) + """
import os

def test_dies():
    os._exit(7)
""" + fillers("after", 3),
    }))
    code, report = seeds(tmp_path, "tests", "--count", "0")
    assert code == 0  # broken is reported, not gated by default
    runs = report["runs"]
    tests = report["tests"]
    assert isinstance(runs, list) and isinstance(tests, list)
    cells = {t["nodeid"]: t["outcomes"][str(runs[0]["id"])] for t in tests}
    assert cells["tests/test_a.py::test_dies"] == "crashed"
    # The tests after it ran in a fresh process: the matrix stays full.
    assert cells["tests/test_a.py::test_after_2"] == "passed"
    assert "not-run" not in cells.values()
    assert runs[0]["status"] == "crashed"
    assert verdicts(report)["tests/test_a.py::test_dies"] == "broken"


def test_hanging_test_is_marked_timeout_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", {
        "tests/test_a.py": """
import threading

def test_hangs():
    threading.Event().wait()
""" + fillers("after", 3),
    }))
    code, report = seeds(tmp_path, "tests", "--count", "0", "--timeout", "1")
    runs, tests = report["runs"], report["tests"]
    assert isinstance(runs, list) and isinstance(tests, list)
    cells = {t["nodeid"]: t["outcomes"][str(runs[0]["id"])] for t in tests}
    assert cells["tests/test_a.py::test_hangs"] == "timeout"
    assert cells["tests/test_a.py::test_after_0"] == "passed"
    assert code == 0


def test_users_addopts_do_not_override_the_plan(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", POLLUTED_PAIR | {"tests/test_c.py": fillers("c", 6)})
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\naddopts = -p no:randomly -n 2 -x\n")
    monkeypatch.chdir(root)
    code, report = seeds(tmp_path, "tests", "--seed", "3", "--seed", "4", "--seed", "5")
    assert code == 1
    assert verdicts(report)["tests/test_b.py::test_victim"] == "order-dependent"
    db = sqlite3.connect(root / ".isoscan" / "isoscan.db")
    workers = {w for (w,) in db.execute(
        "SELECT DISTINCT executions.worker FROM executions JOIN runs ON runs.id = run_id"
        " WHERE runs.purpose = 'plan'")}
    assert workers == {"main"}  # -n 0 from the plan beat -n 2 from addopts
    orders = {tuple(n for (n,) in db.execute(
        "SELECT nodeid FROM executions WHERE run_id = ? ORDER BY segment, seq", (run_id,)))
        for (run_id,) in db.execute("SELECT id FROM runs WHERE purpose = 'plan'")}
    assert len(orders) >= 3  # randomly was re-enabled: seeds shuffle; -x did not cut runs short
    assert all(len(order) == 8 for order in orders)


def test_recorded_worker_order_equals_what_ran(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "ran.log"
    root = write(tmp_path / "suite", {
        "conftest.py": f"""
import os
import pytest

@pytest.fixture(autouse=True)
def _log_what_runs(request):
    with open({str(log)!r}, "a") as out:
        out.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + " " + os.getpid().__str__()
                  + " " + request.node.nodeid + "\\n")
""",
        "tests/test_a.py": fillers("a", 15),
        "tests/test_b.py": fillers("b", 15),
    })
    monkeypatch.chdir(root)
    code, _ = seeds(tmp_path, "tests", "--count", "0", "--workers", "2")
    assert code == 0
    ran: dict[str, list[str]] = {}
    for line in log.read_text().splitlines():
        worker, pid, nodeid = line.split(" ", 2)
        ran.setdefault(f"{worker}-{pid}", []).append(nodeid)
    db = sqlite3.connect(root / ".isoscan" / "isoscan.db")
    recorded: dict[str, list[str]] = {}
    for process, nodeid in db.execute(
            "SELECT process, nodeid FROM executions JOIN runs ON runs.id = run_id"
            " WHERE runs.purpose = 'plan' ORDER BY run_id, segment, process, seq"):
        recorded.setdefault(process, []).append(nodeid)
    assert recorded == ran
    assert len(recorded) == 4  # two runs × two workers


def test_ctrl_c_keeps_completed_runs(tmp_path: Path) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_slow.py": """
import time

def test_slow():
    time.sleep(0.5)
""" + fillers("s", 3),
    })
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "isoscan", "seeds", "tests", "--count", "20"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    db_path = root / ".isoscan" / "isoscan.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for a condition: two runs completed
        if db_path.exists():
            try:
                with sqlite3.connect(db_path) as db:
                    done = db.execute("SELECT COUNT(*) FROM runs WHERE status != 'running'"
                                      " AND purpose = 'plan'").fetchone()[0]
            except sqlite3.OperationalError:  # created, its tables not committed yet
                done = 0
            if done >= 2:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "Traceback" not in output
    with sqlite3.connect(db_path) as db:
        statuses = [s for (s,) in db.execute("SELECT status FROM runs WHERE purpose = 'plan'")]
        kept = db.execute("SELECT COUNT(DISTINCT run_id) FROM results").fetchone()[0]
    assert statuses.count("ok") >= 2
    assert kept == statuses.count("ok")
    assert "running" not in statuses
    assert "Interrupted" in output


def test_json_to_stdout_keeps_human_output_on_stderr(tmp_path: Path) -> None:
    root = write(tmp_path / "suite", POLLUTED_PAIR)
    proc = subprocess.run([sys.executable, "-m", "isoscan", "seeds", "tests", "--count", "1",
                           "--json", "-"], cwd=root, capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["schema"] == "isoscan.report/1"
    assert "Unstable tests" in proc.stderr
