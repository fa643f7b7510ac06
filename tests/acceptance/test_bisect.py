"""isoscan bisect against generated suites with planted polluters: the exact answers."""

from __future__ import annotations

import math
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from suitegen import fillers, read_json, run_cli, write

from isoscan.model.confidence import Rule

VICTIM_READS_FLAG = """
import state

def test_victim():
    assert "polluted" not in state.FLAGS
"""


def bisect(tmp_path: Path, victim: str, *extra: str) -> tuple[int, dict[str, object]]:
    out = tmp_path / "bisect.json"
    code = run_cli(["bisect", victim, "--timeout", "10", "--json", str(out), *extra])
    return code, read_json(out)


def test_one_polluter_far_away_in_another_module(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_a_setup.py": fillers("a", 20) + """
import state

def test_sets_flag():
    state.FLAGS["polluted"] = True
""" + fillers("a_tail", 10),
        "tests/test_m_middle.py": fillers("m", 30),
        "tests/test_z_victim.py": VICTIM_READS_FLAG,
    })
    monkeypatch.chdir(root)
    code, answer = bisect(tmp_path, "tests/test_z_victim.py::test_victim", "tests")
    assert code == 0
    assert answer["kind"] == "victim"
    assert answer["polluters"] == [["tests/test_a_setup.py::test_sets_flag"]]
    assert answer["schema"] == "isoscan.bisect/1"


def test_single_polluter_trials_stay_within_log2_plus_4(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """From a stored failing run (the normal workflow: seeds, then bisect)."""
    root = write(tmp_path / "suite", {
        "tests/test_a.py": fillers("a", 40) + """
import state

def test_polluter():
    state.FLAGS["polluted"] = True
""" + fillers("b", 23),
        "tests/test_b.py": VICTIM_READS_FLAG,
    })
    monkeypatch.chdir(root)
    assert run_cli(["seeds", "tests", "--count", "0", "--timeout", "10"]) == 1
    code, answer = bisect(tmp_path, "tests/test_b.py::test_victim")
    assert code == 0
    assert answer["polluters"] == [["tests/test_a.py::test_polluter"]]
    prefix = 64  # every test of test_a.py runs before the victim in the collected order
    trials = answer["trials"]
    assert isinstance(trials, int)
    assert trials <= math.ceil(math.log2(prefix)) + 4
    assert "run #1" in str(answer["source"])


def test_two_polluters_needed_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_a.py": fillers("a", 9) + """
import state

def test_first_half():
    state.FLAGS["left"] = True
""" + fillers("a2", 9),
        "tests/test_b.py": fillers("b", 9) + """
import state

def test_second_half():
    state.FLAGS["right"] = True
""" + fillers("b2", 9),
        "tests/test_c.py": """
import state

def test_victim():
    assert not ("left" in state.FLAGS and "right" in state.FLAGS)
""",
    })
    monkeypatch.chdir(root)
    code, answer = bisect(tmp_path, "tests/test_c.py::test_victim", "tests")
    assert code == 0
    assert answer["polluters"] == [["tests/test_a.py::test_first_half",
                                    "tests/test_b.py::test_second_half"]]


def test_two_independent_polluters_on_both_sides(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_a.py": fillers("a", 8) + """
import state

def test_pollutes_early():
    state.FLAGS["polluted"] = 1
""",
        "tests/test_m.py": VICTIM_READS_FLAG,
        "tests/test_z.py": """
import state

def test_pollutes_late():
    state.FLAGS["polluted"] = 2
""" + fillers("z", 8),
    })
    monkeypatch.chdir(root)
    # An order in which both run before the victim, as a random seed would give.
    order = [f"tests/test_z.py::test_z_{i}" for i in range(8)]
    order += ["tests/test_z.py::test_pollutes_late"]
    order += [f"tests/test_a.py::test_a_{i}" for i in range(8)]
    order += ["tests/test_a.py::test_pollutes_early"]
    order.append("tests/test_m.py::test_victim")
    order_file = tmp_path / "order.txt"
    order_file.write_text("\n".join(order) + "\n")
    code, answer = bisect(tmp_path, "tests/test_m.py::test_victim", "tests",
                          "--order-file", str(order_file))
    assert code == 0
    polluters = answer["polluters"]
    assert isinstance(polluters, list)
    assert sorted(polluters) == [["tests/test_a.py::test_pollutes_early"],
                                 ["tests/test_z.py::test_pollutes_late"]]
    commands = answer["reproduce_all"]
    assert isinstance(commands, list) and len(commands) == 2
    for command, polluter in zip(commands, polluters, strict=True):
        argv = shlex.split(command)
        proc = subprocess.run([sys.executable, *argv[1:]], cwd=root, capture_output=True,
                              text=True, check=False)
        assert "1 failed, 1 passed" in proc.stdout, proc.stdout  # that polluter, then the victim
        assert "FAILED tests/test_m.py::test_victim" in proc.stdout
        order_file = next(a.split("=", 1)[1] for a in argv if a.startswith("--isoscan-order="))
        expected = [*polluter, "tests/test_m.py::test_victim"]
        assert (root / order_file).read_text().split() == expected
    # --first stops at the first verified set, the one earliest in the order, and says so.
    code, answer = bisect(tmp_path, "tests/test_m.py::test_victim", "tests",
                          "--order-file", str(tmp_path / "order.txt"), "--first")
    assert code == 0
    assert answer["polluters"] == [["tests/test_z.py::test_pollutes_late"]]
    assert "--first" in str(answer["note"])


def test_polluter_with_a_cleaner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_a.py": """
import state

def test_pollutes():
    state.FLAGS["polluted"] = True
""" + fillers("a", 6),
        "tests/test_b.py": """
import state

def test_resets_flags():
    state.FLAGS.clear()
""" + fillers("b", 6),
        "tests/test_c.py": VICTIM_READS_FLAG,
    })
    monkeypatch.chdir(root)
    order_file = tmp_path / "order.txt"
    order_file.write_text("tests/test_a.py::test_pollutes\ntests/test_c.py::test_victim\n")
    code, answer = bisect(tmp_path, "tests/test_c.py::test_victim", "tests",
                          "--order-file", str(order_file), "--cleaners")
    assert code == 0
    assert answer["polluters"] == [["tests/test_a.py::test_pollutes"]]
    assert answer["cleaners"] == ["tests/test_b.py::test_resets_flags"]


def test_brittle_test_and_its_state_setter(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_a.py": fillers("a", 5) + """
import state

def test_registers_plugin():
    state.FLAGS["plugin"] = "csv"
""" + fillers("a2", 5),
        "tests/test_b.py": """
import state

def test_uses_plugin():
    assert state.FLAGS.get("plugin") == "csv"
""",
    })
    monkeypatch.chdir(root)
    code, answer = bisect(tmp_path, "tests/test_b.py::test_uses_plugin", "tests")
    assert code == 0
    assert answer["kind"] == "brittle"
    assert answer["state_setters"] == ["tests/test_a.py::test_registers_plugin"]
    assert answer["polluters"] == []


def test_victim_that_crashes_after_its_polluter(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_a.py": fillers("a", 6) + """
import state

def test_arms():
    state.FLAGS["armed"] = True
""" + fillers("a2", 6),
        "tests/test_b.py": """
import os
import state

def test_crashes_when_armed():
    if state.FLAGS.get("armed"):
        os._exit(3)
""",
    })
    monkeypatch.chdir(root)
    code, answer = bisect(tmp_path, "tests/test_b.py::test_crashes_when_armed", "tests")
    assert code == 0
    assert answer["polluters"] == [["tests/test_a.py::test_arms"]]


def test_victim_that_hangs_after_its_polluter(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_a.py": fillers("a", 3) + """
import state

def test_arms():
    state.FLAGS["armed"] = True
""",
        "tests/test_b.py": """
import threading
import state

def test_hangs_when_armed():
    if state.FLAGS.get("armed"):
        threading.Event().wait()
""",
    })
    monkeypatch.chdir(root)
    out = tmp_path / "hang.json"
    code = run_cli(["bisect", "tests/test_b.py::test_hangs_when_armed", "tests",
                    "--timeout", "2", "--json", str(out)])
    assert code == 0
    assert read_json(out)["polluters"] == [["tests/test_a.py::test_arms"]]


def test_prefix_of_2000_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {f"tests/test_f{n:02d}.py": fillers(f"f{n}", 100) for n in range(20)}
    files["tests/test_f03.py"] += """
import state

def test_polluter():
    state.FLAGS["polluted"] = True
"""
    files["tests/test_zz.py"] = VICTIM_READS_FLAG
    root = write(tmp_path / "suite", files)
    monkeypatch.chdir(root)
    # --no-sweep: what is asserted is the search's cost; a sweep would then run the polluter
    # before each of the 2,000 other tests (tests/seeds/test_sweep.py covers the sweep).
    code, answer = bisect(tmp_path, "tests/test_zz.py::test_victim", "tests", "--no-sweep")
    assert code == 0
    assert answer["polluters"] == [["tests/test_f03.py::test_polluter"]]
    trials = answer["trials"]
    assert isinstance(trials, int)
    # A cold start: its reproduction check replays the order and runs the victim alone by the
    # stated rule (the first replay and the first run alone count among them).
    order, alone = Rule().needed()
    assert trials <= math.ceil(math.log2(2001)) + 5 + (order + alone - 2)


def test_awkward_ids_round_trip_and_the_reproduce_command_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_odd.py": """
import pytest
import state

@pytest.mark.parametrize("key", ["a/b::c", "with space", "x[1]"])
def test_pollutes(key):
    if key == "a/b::c":
        state.FLAGS["polluted"] = key

@pytest.mark.parametrize("word", ["héllo wörld", "naïve"])
def test_victim(word):
    assert "polluted" not in state.FLAGS
""",
    })
    monkeypatch.chdir(root)
    victim = "tests/test_odd.py::test_victim[h\\xe9llo w\\xf6rld]"
    code, answer = bisect(tmp_path, victim, "tests")
    assert code == 0
    assert answer["polluters"] == [["tests/test_odd.py::test_pollutes[a/b::c]"]]
    command = answer["reproduce"]
    assert isinstance(command, str)
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "pytest"]
    proc = subprocess.run([sys.executable, *argv[1:]], cwd=root, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1, proc.stdout
    assert "1 failed, 1 passed" in proc.stdout
    assert f"FAILED {victim}" in proc.stdout


def test_unknown_victim_is_a_usage_error_with_suggestions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path / "suite", {"tests/test_b.py": VICTIM_READS_FLAG})
    monkeypatch.chdir(root)
    code = run_cli(["bisect", "tests/test_b.py::test_victm", "tests"])
    assert code == 2
    err = capsys.readouterr().err
    assert "test not collected: tests/test_b.py::test_victm" in err
    assert "did you mean: tests/test_b.py::test_victim" in err
    assert "Traceback" not in err


def test_victim_that_passes_in_every_order_has_nothing_to_blame(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {"tests/test_b.py": VICTIM_READS_FLAG + fillers("b", 3)})
    monkeypatch.chdir(root)
    code, answer = bisect(tmp_path, "tests/test_b.py::test_victim", "tests")
    assert code == 1
    assert answer["kind"] == "not-reproducible"
    assert answer["polluters"] == []
