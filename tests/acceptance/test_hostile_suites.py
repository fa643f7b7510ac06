"""Suites that broke isoscan once (found in review): each case pins the right answer."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from suitegen import fillers, read_json, run_cli, write

from isoscan.execution.junit import read_junit

ENV_PAIR = {
    "tests/test_a.py": """
import os

def test_polluter():
    os.environ["X_POLL"] = "1"
""",
    "tests/test_b.py": """
import os

def test_victim():
    assert "X_POLL" not in os.environ
""",
}
VICTIM = "tests/test_b.py::test_victim"


def verdicts(path: Path) -> dict[str, str]:
    tests = read_json(path)["tests"]
    assert isinstance(tests, list)
    return {t["nodeid"]: t["verdict"] for t in tests}


def test_conftest_that_changes_directory_at_import(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", ENV_PAIR | {
        "tests/conftest.py": "import os\nos.chdir(os.path.dirname(os.path.abspath(__file__)))\n",
    })
    monkeypatch.chdir(root)
    assert run_cli(["seeds", "tests", "--count", "1", "--json", "r.json"]) == 1
    assert verdicts(root / "r.json")[VICTIM] == "order-dependent"
    assert run_cli(["bisect", VICTIM, "--no-explain", "--json", "b.json"]) == 0
    answer = read_json(root / "b.json")
    assert answer["polluters"] == [["tests/test_a.py::test_polluter"]]
    argv = shlex.split(str(answer["reproduce"]))
    proc = subprocess.run([sys.executable, *argv[1:]], cwd=root, capture_output=True,
                          text=True, check=False)
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout


def test_crashed_xdist_worker_is_not_a_hang(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {"tests/test_x.py": """
import os
import time
import pytest

def test_a_crash():
    os._exit(7)

@pytest.mark.parametrize("i", range(12))
def test_slow(i):
    time.sleep(0.7)
"""})
    monkeypatch.chdir(root)
    assert run_cli(["seeds", "tests", "--count", "0", "--workers", "2", "--timeout", "1",
                    "--json", "r.json"]) == 0
    report = read_json(root / "r.json")
    unstable = {n: v for n, v in verdicts(root / "r.json").items() if v != "stable"}
    assert unstable == {"tests/test_x.py::test_a_crash": "broken"}
    tests = report["tests"]
    assert isinstance(tests, list)
    crash = next(t for t in tests if t["nodeid"] == "tests/test_x.py::test_a_crash")
    assert set(crash["outcomes"].values()) == {"crashed"}


def test_failure_that_follows_the_seed_is_not_order_dependent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_v.py": "import random\n\ndef test_seedy():\n"
                           "    assert random.random() < 0.95\n",
        "tests/test_a.py": fillers("harmless", 10),
    })
    monkeypatch.chdir(root)
    # Under seed 2 pytest-randomly reseeds `random` so that test_seedy draws > 0.95, alone too.
    run_cli(["seeds", "tests", "--seed", "2", "--json", "r.json"])
    assert verdicts(root / "r.json")["tests/test_v.py::test_seedy"] == "non-deterministic"
    assert run_cli(["bisect", "tests/test_v.py::test_seedy", "--json", "b.json"]) == 1
    assert read_json(root / "b.json")["polluters"] == []


def test_fork_children_rerun_conftest_session_start(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", ENV_PAIR | {
        "conftest.py": """
import os
import shutil

def pytest_sessionstart(session):
    os.makedirs("_scratch", exist_ok=True)

def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree("_scratch", ignore_errors=True)
""",
        "tests/test_b.py": """
import os

def test_victim():
    assert os.path.isdir("_scratch")
    assert "X_POLL" not in os.environ
""",
    })
    monkeypatch.chdir(root)
    assert run_cli(["seeds", "tests", "--count", "2", "--json", "r.json"]) == 1
    assert verdicts(root / "r.json")[VICTIM] == "order-dependent"
    assert run_cli(["isolate", "tests"]) == 0


@pytest.mark.parametrize("addopts", ["--randomly-seed=123", "--lf", "--ff", "-p no:randomly"])
def test_users_addopts_do_not_stop_the_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            addopts: str) -> None:
    root = write(tmp_path / "suite", ENV_PAIR)
    (root / "pytest.ini").write_text(f"[pytest]\naddopts = {addopts}\n")
    monkeypatch.chdir(root)
    assert run_cli(["seeds", "tests", "--count", "1", "--json", "r.json"]) == 1
    assert verdicts(root / "r.json")[VICTIM] == "order-dependent"


def test_reproduce_command_survives_exitfirst_in_addopts(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", ENV_PAIR | {"tests/test_a.py": """
import os

def test_polluter_that_fails():
    os.environ["X_POLL"] = "1"
    assert False
"""})
    (root / "pytest.ini").write_text("[pytest]\naddopts = -x\n")
    monkeypatch.chdir(root)
    assert run_cli(["bisect", VICTIM, "tests", "--no-explain", "--json", "b.json"]) == 0
    argv = shlex.split(str(read_json(root / "b.json")["reproduce"]))
    proc = subprocess.run([sys.executable, *argv[1:]], cwd=root, capture_output=True,
                          text=True, check=False)
    assert f"FAILED {VICTIM}" in proc.stdout, proc.stdout


def test_order_file_with_ids_pytest_does_not_have(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "suite", ENV_PAIR)
    (root / "order.txt").write_text("test_a.py::test_polluter\ntests/test_b.py::test_victim\n")
    monkeypatch.chdir(root)
    assert run_cli(["bisect", VICTIM, "tests", "--order-file", "order.txt"]) == 2
    err = capsys.readouterr().err
    assert "in order.txt: test not collected: test_a.py::test_polluter" in err
    assert "did you mean: tests/test_a.py::test_polluter" in err


def test_explicit_order_bisects_a_test_seeds_called_non_deterministic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", ENV_PAIR)
    monkeypatch.chdir(root)
    run_cli(["seeds", "tests", "--count", "0"])
    db = sqlite3.connect(root / ".isoscan" / "isoscan.db")
    with db:  # as if an earlier session had judged it non-deterministic
        db.execute("UPDATE verdicts SET verdict = 'non-deterministic'")
    db.close()
    assert run_cli(["bisect", VICTIM, "--no-explain", "--json", "refused.json"]) == 1
    assert read_json(root / "refused.json")["kind"] == "non-deterministic"
    (root / "order.txt").write_text("tests/test_a.py::test_polluter\n")
    assert run_cli(["bisect", VICTIM, "--order-file", "order.txt", "--no-explain",
                    "--json", "b.json"]) == 0
    assert read_json(root / "b.json")["polluters"] == [["tests/test_a.py::test_polluter"]]


def test_module_that_cannot_be_collected_is_broken(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {"tests/test_ok.py": fillers("ok", 3),
                                      "tests/test_broken.py": "import no_such_module\n"})
    monkeypatch.chdir(root)
    run_cli(["seeds", "tests", "--count", "1", "--json", "r.json", "--",
             "--continue-on-collection-errors"])
    unstable = {n: v for n, v in verdicts(root / "r.json").items() if v != "stable"}
    assert list(unstable.values()) == ["broken"]


def test_pytest_internal_error_is_the_runs_trouble_not_a_test(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest writes an INTERNALERROR into the JUnit XML as a testcase "pytest"/"internal"
    (seen from xdist under load in the demo): it crashes the run, it gets no verdict."""
    root = write(tmp_path / "suite", {
        "conftest.py": "def pytest_runtest_logfinish(nodeid, location):\n"
                       "    if nodeid.endswith('test_b'):\n"
                       "        raise RuntimeError('a plugin bug')\n",
        "tests/test_x.py": "def test_a():\n    pass\n\n\ndef test_b():\n    pass\n",
    })
    monkeypatch.chdir(root)
    run_cli(["seeds", "tests", "--count", "0", "--json", "r.json"])
    doc = read_json(root / "r.json")
    assert set(verdicts(root / "r.json")) == {"tests/test_x.py::test_a",
                                              "tests/test_x.py::test_b"}
    assert {r["status"] for r in doc["runs"]} == {"crashed"}  # type: ignore[index]


def test_an_import_search_trial_that_did_not_run_the_victim_answers_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The victim fails with the whole suite collected (tests/test_switch.py changes the format
    at import) and passes in its own module; a module that kills pytest whenever collection
    errors are let through (as the search's trials do) leaves the victim not run there. That
    trial must not count as "collecting the other modules does not break it"."""
    root = write(tmp_path / "suite", {
        "app.py": "FORMAT = 'csv'\n",
        "conftest.py": "import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n",
        "tests/test_killer.py": "import os\nimport sys\n\n"
                                "if '--continue-on-collection-errors' in sys.argv:\n"
                                "    os._exit(3)\n\n\ndef test_ok():\n    pass\n",
        "tests/test_switch.py": "import app\n\napp.FORMAT = 'tsv'\n\n\n"
                                "def test_switch():\n    pass\n",
        "tests/test_victim.py": "import app\n\n\ndef test_csv():\n"
                                "    assert app.FORMAT == 'csv'\n",
    })
    monkeypatch.chdir(root)
    run_cli(["seeds", "tests", "--count", "0", "--no-fork", "--json", "r.json"])
    doc = read_json(root / "r.json")
    (victim,) = [t for t in doc["tests"]  # type: ignore[union-attr]
                 if t["nodeid"] == "tests/test_victim.py::test_csv"]
    assert victim["verdict"] == "import-time"
    dependence = victim["evidence"]["import_time"]
    assert dependence["modules"] == []
    assert "did not run it, twice" in dependence["note"], dependence


def test_empty_junit_testcase_is_not_a_test(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    junit.write_text('<testsuites><testsuite name="pytest">'
                     '<testcase classname="t" name="test_ok" time="0.1"/>'
                     '<testcase time="0.000"/></testsuite></testsuites>')
    assert list(read_junit(junit)) == ["t::test_ok"]


def test_ctrl_c_during_confirmation_keeps_finished_verdicts(tmp_path: Path) -> None:
    root = write(tmp_path / "suite", ENV_PAIR | {"tests/test_c.py": """
import os
import time

def test_slow_victim():
    time.sleep(1.5)
    assert "X_POLL" not in os.environ
"""})
    proc = subprocess.Popen([sys.executable, "-m", "isoscan", "seeds", "tests", "--count", "0",
                             "--no-fork"], cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, NO_COLOR="1"))
    db_path = root / ".isoscan" / "isoscan.db"
    deadline = time.monotonic() + 120
    judged = 0
    while time.monotonic() < deadline and proc.poll() is None:  # until one verdict is stored
        if db_path.exists():
            with sqlite3.connect(db_path) as db, contextlib.suppress(sqlite3.OperationalError):
                judged = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
            if judged:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert judged >= 1
    assert proc.returncode == 130, output
    with sqlite3.connect(db_path) as db:
        kept = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert kept >= 1
    assert "verdicts kept" in output


def test_teardown_error_of_a_shared_fixture_is_called_out(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {"tests/test_m.py": """
import pytest

STACK = []

@pytest.fixture(scope="module")
def client():
    yield
    assert not STACK, "context left pushed"

def test_pushes(client):
    STACK.append(1)

def test_one(client):
    pass

def test_two(client):
    pass
"""})
    monkeypatch.chdir(root)
    run_cli(["seeds", "tests", "--count", "0", "--json", "r.json"])
    tests = read_json(root / "r.json")["tests"]
    assert isinstance(tests, list)
    flagged = [t for t in tests if t["verdict"] != "stable"]
    assert flagged  # the module teardown error lands on the last test of each order
    for test in flagged:
        assert "only ever fails at teardown" in test["evidence"]["note"], test["nodeid"]


def test_explain_leaves_out_library_classes_imported_into_the_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "app.py": "from fractions import Fraction\n\nCOUNT = 0\n",
        "tests/test_a.py": """
import app

def test_polluter():
    app.Fraction.isoscan_cache_hits = 1  # a library's own cache, reached through the project
    app.COUNT += 1
""",
        "tests/test_b.py": "import app\n\ndef test_victim():\n    assert app.COUNT == 0\n",
    })
    monkeypatch.chdir(root)
    assert run_cli(["explain", "tests/test_a.py::test_polluter", "tests/test_b.py::test_victim",
                    "tests", "--json", "e.json"]) == 0
    changes = read_json(root / "e.json")["changes"]
    assert isinstance(changes, list)
    names = [c["name"] for c in changes if c["kind"] == "global"]
    assert names == ["app.COUNT"]
