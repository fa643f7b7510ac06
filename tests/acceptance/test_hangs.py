"""Hangs cost their full --timeout once: later runs and trials stop a test that hung at its early
bound (``timeout-early``), a verdict resting on a hang is confirmed once with the full timeout,
a test that is only slow is never called hung, and bisect takes the session's --timeout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from suitegen import fillers, read_json, run_cli, write

from isoscan.execution.timeouts import EARLY_FLOOR

# Hang bounds are measured durations: the tests that assert on them run alone, on an otherwise
# quiet machine (`timing`); the one that only asserts on what bisect answers does not.
timing = pytest.mark.timing

TIMEOUT = 4.0  # seconds; the early bound of a test that passes at once is EARLY_FLOOR
HANG = "tests/test_b_hang.py::test_hangs_when_armed"
VICTIM = "tests/test_c_victim.py::test_victim"
ARMS = "tests/test_a_setup.py::test_arms"
POLLUTES = "tests/test_a_setup.py::test_pollutes"

HANG_BEHIND_A_POLLUTER = {
    "tests/test_a_setup.py": """
import state

def test_arms():
    state.FLAGS["armed"] = True

def test_pollutes():
    state.FLAGS["polluted"] = True
""",
    "tests/test_b_hang.py": """
import threading
import state

def test_hangs_when_armed():
    if state.FLAGS.get("armed"):
        threading.Event().wait()
""",
    "tests/test_c_victim.py": """
import state

def test_victim():
    assert "polluted" not in state.FLAGS
""",
}


def rows(root: Path, query: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(root / ".isoscan" / "isoscan.db") as db:
        return list(db.execute(query, args))


def hang_results(root: Path, purpose: str) -> list[tuple[str, float]]:
    """The hanging test's outcome and duration in every run of that purpose, in run order."""
    return [(str(o), float(d or 0.0)) for o, d in rows(
        root, "SELECT outcome, duration FROM results JOIN runs ON runs.id = run_id"
              " WHERE nodeid = ? AND purpose = ? ORDER BY run_id", HANG, purpose)]


@timing
def test_a_hang_costs_its_full_timeout_once_then_stops_at_its_early_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "suite", HANG_BEHIND_A_POLLUTER)
    monkeypatch.chdir(root)
    out = tmp_path / "seeds.json"
    # Collected and reversed, serially and on one xdist worker: the hang follows its
    # polluter in both collected runs.
    code = run_cli(["seeds", "tests", "--count", "0", "--workers", "0,1", "--timeout",
                    f"{TIMEOUT:g}", "--json", str(out)])
    assert code == 1
    report = read_json(out)
    tests = {t["nodeid"]: t for t in report["tests"]}  # type: ignore[union-attr]
    cells = [o for o in tests[HANG]["outcomes"].values() if o != "passed"]
    assert cells == ["timeout", "timeout-early"]  # the second run stopped it early
    plan = [(o, d) for o, d in hang_results(root, "plan") if o != "passed"]
    assert plan[0][1] >= TIMEOUT and EARLY_FLOOR <= plan[1][1] < TIMEOUT
    printed = capsys.readouterr().out
    assert "t timeout, early" in printed  # the matrix legend says what the cell means

    # Its verdict rests on the hang: the first replay of its order had the whole timeout.
    hang = tests[HANG]
    assert hang["verdict"] == "order-dependent"
    replays = hang["evidence"]["failing_order"]["outcomes"]
    assert replays[0] == "timeout" and set(replays[1:]) == {"timeout-early"}
    assert "ran past the full --timeout" in hang["evidence"]["note"]
    confirmation = hang["evidence"]["confirmation"]
    assert confirmation["met"] and confirmation["bound"] <= 0.01
    # The whole session paid the full timeout twice for it: its first hang, and the one
    # replay that confirms the verdict; every other run stopped it at its early bound.
    full = [d for o, d in hang_results(root, "plan") + hang_results(root, "confirm")
            if o == "timeout"]
    assert len(full) == 2
    assert all(d < TIMEOUT for o, d in hang_results(root, "confirm") if o == "timeout-early")
    # The victim's order held the hang too; its replays never waited for the full timeout.
    victim = tests[VICTIM]
    assert victim["verdict"] == "order-dependent"
    assert victim["evidence"]["confirmation"]["met"]

    # bisect without --timeout takes the session's; the hang that ran before the victim in
    # its recorded order is left out from the first trial on.
    answer_file = tmp_path / "bisect.json"
    assert run_cli(["bisect", VICTIM, "--no-explain", "--json", str(answer_file)]) == 0
    answer = read_json(answer_file)
    assert answer["polluters"] == [[POLLUTES]]
    assert answer["left_out"] == [HANG]
    assert f"--timeout {TIMEOUT:g}, as in session 1" in capsys.readouterr().out
    bisect_session = rows(root, "SELECT id, timeout FROM sessions WHERE command = 'bisect'")
    assert [t for _, t in bisect_session] == [TIMEOUT]
    assert hang_results(root, "bisect") == []  # it never ran in a bisect trial

    # Bisecting the hang itself: stopped early in every trial, its answer confirmed once with
    # the full timeout.
    assert run_cli(["bisect", HANG, "--no-explain", "--json", str(answer_file)]) == 0
    assert read_json(answer_file)["polluters"] == [[ARMS]]
    assert "with its full --timeout after them: timeout" in capsys.readouterr().out
    trials = hang_results(root, "bisect")
    assert [o for o, _ in trials].count("timeout") == 1
    assert all(d < TIMEOUT for o, d in trials if o == "timeout-early")


SLOW_AFTER_A_SETUP = {
    # Collected first: on its very first run it takes longer than the timeout (a cold cache),
    # which earns it an early bound; after the setup test it is slower than that bound, but
    # always finishes within the timeout.
    "tests/test_a_warm.py": """
import os
import time
import state

MARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "warm.mark")

def test_warms_up():
    if not os.path.exists(MARK):
        open(MARK, "w").close()
        time.sleep(6)
    time.sleep(3.0 if state.FLAGS.get("slow") else 0.01)
""",
    "tests/test_b_setup.py": """
import state

def test_makes_it_slow():
    state.FLAGS["slow"] = True
""" + fillers("b", 2),
}


@timing
def test_a_slow_but_finishing_test_is_never_called_hung(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", SLOW_AFTER_A_SETUP)
    monkeypatch.chdir(root)
    out = tmp_path / "seeds.json"
    run_cli(["seeds", "tests", "--count", "0", "--timeout", f"{TIMEOUT:g}", "--json", str(out)])
    tests = {t["nodeid"]: t for t in read_json(out)["tests"]}  # type: ignore[union-attr]
    slow = tests["tests/test_a_warm.py::test_warms_up"]
    # Collected: its cold first run timed out. Reversed: after the setup test it ran past its
    # early bound and was stopped.
    assert list(slow["outcomes"].values()) == ["timeout", "timeout-early"]
    assert slow["verdict"] not in ("order-dependent", "brittle", "broken")
    # Its replay after the setup test had the whole timeout, and it passed there, slowly.
    with sqlite3.connect(root / ".isoscan" / "isoscan.db") as db:
        replays = list(db.execute(
            "SELECT results.outcome, results.duration FROM results"
            " JOIN runs ON runs.id = results.run_id JOIN results AS setup"
            " ON setup.run_id = results.run_id AND setup.nodeid = ?"
            " WHERE results.nodeid = ? AND runs.purpose = 'confirm'",
            ("tests/test_b_setup.py::test_makes_it_slow", "tests/test_a_warm.py::test_warms_up")))
    assert replays and all(o == "passed" and 3.0 <= d < TIMEOUT for o, d in replays)


POLLUTES_THEN_HANGS = {
    "tests/test_a_arm.py": "import state\n\ndef test_arms():\n    state.FLAGS['armed'] = True\n",
    "tests/test_b_both.py": """
import threading
import state

def test_pollutes_then_hangs():
    state.FLAGS["polluted"] = True
    if state.FLAGS.get("armed"):
        threading.Event().wait()
""",
    "tests/test_c_victim.py": HANG_BEHIND_A_POLLUTER["tests/test_c_victim.py"],
}


def test_a_hung_test_left_out_is_put_back_when_the_victim_needs_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The test that hung before the victim is its polluter: without it the victim passes, so
    the order goes back to what it was, and the polluter is found in it."""
    root = write(tmp_path / "suite", POLLUTES_THEN_HANGS)
    monkeypatch.chdir(root)
    run_cli(["seeds", "tests", "--count", "0", "--timeout", f"{TIMEOUT:g}"])
    capsys.readouterr()
    answer_file = tmp_path / "bisect.json"
    assert run_cli(["bisect", VICTIM, "--no-explain", "--json", str(answer_file)]) == 0
    steps = capsys.readouterr().out
    answer = read_json(answer_file)
    both = "tests/test_b_both.py::test_pollutes_then_hangs"
    assert answer["polluters"] == [[both]]
    assert answer["left_out"] == []
    # First without it (the victim passed), then the order as it ran.
    put_back = steps.index("does not reproduce")
    assert "without 1 test(s) that crashed or hung there" in steps[:put_back]
    assert "starting order: run #1" in steps[put_back:] and ", 2 tests" in steps[put_back:]
