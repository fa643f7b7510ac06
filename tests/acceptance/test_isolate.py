"""isoscan isolate: every test alone, in a fork (or a subprocess with --no-fork)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from isoscan.cli import main
from isoscan.execution.argv import Suite
from isoscan.isolate.workflow import IsolateConfig, no_observer, run_isolate
from isoscan.model.outcomes import Outcome

SUITE = {
    "test_a_setter.py": """
        import state

        def test_sets_up():
            state.FLAGS["ready"] = True
    """,
    "test_b_brittle.py": """
        import state

        def test_needs_setup():
            assert state.FLAGS.get("ready"), "nobody set up"
    """,
    "test_c_rest.py": """
        import pytest

        def test_broken():
            assert 1 == 2

        def test_fine():
            assert True

        @pytest.mark.skip(reason="not today")
        def test_skipped():
            assert False
    """,
}
BRITTLE = "test_b_brittle.py::test_needs_setup"
BROKEN = "test_c_rest.py::test_broken"


def write_suite(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (root / "state.py").write_text("FLAGS = {}\n")
    for name, body in files.items():
        (root / name).write_text(textwrap.dedent(body))
    return root


def isolate(root: Path, monkeypatch: pytest.MonkeyPatch,
            *args: str) -> tuple[int, dict[str, object]]:
    monkeypatch.chdir(root)
    out = root.parent / "isolate.json"
    code = main(["isolate", "--timeout", "10", "--json", str(out), *args])
    return code, json.loads(out.read_text()) if out.exists() else {}


def outcomes(document: dict[str, object]) -> dict[str, str]:
    tests = document["tests"]
    assert isinstance(tests, list)
    return {t["nodeid"]: t["outcome"] for t in tests}


def test_lists_the_tests_that_fail_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = write_suite(tmp_path / "suite", SUITE)
    code, document = isolate(root, monkeypatch)
    assert code == 1, capsys.readouterr()
    assert document["schema"] == "isoscan.isolate/1"
    assert document["mode"] == "fork" and document["fallback"] is None
    assert document["fail_alone"] == [BRITTLE, BROKEN]
    assert outcomes(document) == {
        "test_a_setter.py::test_sets_up": "passed",
        BRITTLE: "failed",
        BROKEN: "failed",
        "test_c_rest.py::test_fine": "passed",
        "test_c_rest.py::test_skipped": "skipped",
    }
    printed = capsys.readouterr().out
    assert f"FAILS ALONE  failed   {BRITTLE}" in printed
    assert "AssertionError: nobody set up" in printed
    assert "5 of 5 tests run alone" in printed and "2 fail alone" in printed


def test_no_fork_gives_the_same_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_suite(tmp_path / "suite", SUITE)
    forked_code, forked = isolate(root, monkeypatch)
    code, spawned = isolate(root, monkeypatch, "--no-fork")
    assert (code, spawned["mode"]) == (forked_code, "subprocess")
    assert spawned["fail_alone"] == forked["fail_alone"]
    assert outcomes(spawned) == outcomes(forked)


def test_exit_0_when_every_test_passes_alone(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_suite(tmp_path / "suite", {"test_ok.py": """
        def test_one():
            assert True

        def test_two():
            assert True
    """})
    code, document = isolate(root, monkeypatch, "test_ok.py")
    assert code == 0
    assert document["fail_alone"] == [] and document["collected"] == 2


def test_pytest_args_after_dashdash_reach_pytest(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_suite(tmp_path / "suite", SUITE)
    code, document = isolate(root, monkeypatch, "--", "-k", "brittle or fine")
    assert code == 1
    assert outcomes(document) == {BRITTLE: "failed", "test_c_rest.py::test_fine": "passed"}


@pytest.mark.parametrize("mode", [[], ["--no-fork"]], ids=["fork", "no-fork"])
def test_a_collection_error_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str], mode: list[str]) -> None:
    root = write_suite(tmp_path / "suite", {**SUITE, "test_z.py": "import not_a_module_here\n"})
    code, document = isolate(root, monkeypatch, *mode)
    assert code == 3 and document == {}
    error = capsys.readouterr().err
    assert "the suite could not run" in error and "not_a_module_here" in error


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_suite(tmp_path / "suite", SUITE)
    monkeypatch.chdir(root)
    assert main(["isolate", "no_such_dir"]) == 2
    assert main(["isolate", "--jobs", "0"]) == 2
    assert main(["isolate", "--bogus"]) == 2


def test_parallel_forks_recheck_failures_one_at_a_time(tmp_path: Path) -> None:
    root = write_suite(tmp_path / "suite", SUITE)
    config = IsolateConfig(Suite(cwd=root, timeout=10), tmp_path / "store", jobs=2)
    report = run_isolate(config, no_observer())
    assert [r.nodeid for r in report.fail_alone] == [BRITTLE, BROKEN]
    assert all(r.rechecked for r in report.fail_alone)
    assert not any(r.rechecked for r in report.results if r.outcome is Outcome.PASSED)
    assert report.exit_code() == 1 and report.mode == "fork"


INTERRUPTING = """
    import os, signal, time

    def test_interrupts_isoscan():
        # This child's parent is the fork server; the server's parent is isoscan: Ctrl-C it.
        with open(f"/proc/{os.getppid()}/stat") as stat:
            isoscan = int(stat.read().rsplit(")", 1)[1].split()[1])
        os.kill(isoscan, signal.SIGINT)
        time.sleep(60)  # isoscan kills this child as it stops
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_ctrl_c_keeps_every_test_that_finished_alone(tmp_path: Path) -> None:
    """151 tests, in chunks of 100 stored runs; Ctrl-C during the 121st: the first chunk and
    the 20 finished tests of the second are kept, the rest is not-run, nothing is lost."""
    fillers = "".join(f"def test_{n:03d}():\n    assert True\n\n" for n in range(150))
    root = write_suite(tmp_path / "suite", {"test_a.py": fillers[: fillers.index("def test_120")],
                                            "test_b.py": INTERRUPTING,
                                            "test_c.py": fillers[fillers.index("def test_120"):]})
    out = tmp_path / "isolate.json"
    proc = subprocess.run([sys.executable, "-m", "isoscan", "isolate", "--jobs", "1",
                           "--json", str(out), "--store", str(tmp_path / "store")],
                          cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    with sqlite3.connect(tmp_path / "store" / "isoscan.db") as db:
        runs = db.execute("SELECT id, status FROM runs ORDER BY id").fetchall()
        kept = dict(db.execute("SELECT nodeid, outcome FROM results"))
    assert [status for _, status in runs] == ["ok", "interrupted"]
    assert sorted(n for n, o in kept.items() if o == "passed") == [
        f"test_a.py::test_{n:03d}" for n in range(120)]
    assert kept["test_b.py::test_interrupts_isoscan"] == "not-run"
    assert all(kept[f"test_c.py::test_{n:03d}"] == "not-run" for n in range(120, 150))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_jobs_default_counts_the_cpus_isoscan_may_run_on() -> None:
    # A CI container limited to one CPU of a bigger machine: one job, not one per machine CPU.
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from isoscan.cli.isolate import isolate; "
            "print([p.default for p in isolate.params if p.name == 'jobs'][0])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "1"


def test_ctrl_c_inside_a_deferred_block_is_raised_when_the_block_ends() -> None:
    from isoscan.execution.interrupts import interrupts_deferred

    steps: list[str] = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        steps.append("stored")
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("marked stored")
    assert steps == ["stored", "marked stored"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
