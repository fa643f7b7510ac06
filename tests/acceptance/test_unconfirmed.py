"""A test whose confirmation trials did not run it gets no verdict but *unconfirmed*, with the
reason and the line of pytest's output that says it, in every report; the gate fails on it
unless --fail-on leaves it out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from suitegen import read_json, run_cli, write

VICTIM = "tests/test_a.py::test_victim"
CRASH = "tests/test_z.py::test_crash"
REFUSAL = "Exit: a previous session crashed: remove .session-running"

# A suite that refuses every session after one that crashed (its flag is a file, so no cache
# of isoscan's can hide it). The first planned run (collected order) fails the victim, then
# crashes at test_crash: every later session, plan runs and trials alike, is refused.
REFUSING = {
    "tests/conftest.py": """
        from pathlib import Path

        import pytest

        FLAG = Path(__file__).parent / ".session-running"

        def pytest_sessionstart(session):
            if FLAG.exists():
                pytest.exit("a previous session crashed: remove .session-running",
                            returncode=3)
            FLAG.write_text("running")

        def pytest_sessionfinish(session, exitstatus):
            FLAG.unlink(missing_ok=True)
    """,
    "tests/test_a.py": """
        import state

        def test_polluter():
            state.FLAGS["polluted"] = True

        def test_victim():
            assert "polluted" not in state.FLAGS
    """,
    "tests/test_z.py": """
        import os

        def test_crash():
            os._exit(1)
    """,
}


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """One seeds session over the refusing suite, read by every test of the module."""
    tmp = tmp_path_factory.mktemp("unconfirmed")
    root = write(tmp / "suite", REFUSING)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("NO_COLOR", "1")
        code = run_cli(["seeds", "tests", "--count", "1", "--json", str(tmp / "r.json"),
                        "--junit-xml", str(tmp / "r.xml"), "--markdown", str(tmp / "r.md")])
    return code, tmp


def test_tests_it_could_not_run_are_unconfirmed_and_fail_the_gate(
        refused: tuple[int, Path]) -> None:
    code, tmp = refused
    tests = read_json(tmp / "r.json")["tests"]
    assert isinstance(tests, list)
    found = {t["nodeid"]: t for t in tests if t["verdict"] != "stable"}
    assert {n: t["verdict"] for n, t in found.items()} == {VICTIM: "unconfirmed",
                                                           CRASH: "unconfirmed"}
    assert code == 1
    for nodeid in (VICTIM, CRASH):
        why = found[nodeid]["evidence"]["unconfirmed"]
        assert why["reason"] == "refused"
        assert why["log_line"] == REFUSAL
        assert why["trial"] == "running it alone with the whole suite collected"
        assert isinstance(why["run_id"], int)
    gate = read_json(tmp / "r.json")["gate"]
    assert isinstance(gate, dict)
    assert sorted(c["nodeid"] for c in gate["new"]) == [VICTIM, CRASH]


def test_junit_and_markdown_carry_the_reason(refused: tuple[int, Path]) -> None:
    _, tmp = refused
    cases = {f"{c.get('classname')}::{c.get('name')}": c
             for c in ET.parse(tmp / "r.xml").getroot().iter("testcase")}
    failures = [c.find("failure") for c in cases.values()]
    unconfirmed = [f for f in failures if f is not None and f.get("type") == "unconfirmed"]
    assert len(unconfirmed) == 2
    for failure in unconfirmed:
        assert "the suite refused to run it" in (failure.get("message") or "")
        assert REFUSAL in (failure.get("message") or "")
    markdown = (tmp / "r.md").read_text()
    rows = [line for line in markdown.splitlines() if "| unconfirmed |" in line]
    assert len(rows) == 2 and all(REFUSAL in row for row in rows)


def test_fail_on_can_leave_unconfirmed_out(refused: tuple[int, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, tmp = refused
    monkeypatch.chdir(tmp / "suite")
    assert run_cli(["report", "--fail-on", "order-dependent,brittle"]) == 0
    assert run_cli(["report"]) == 1



# A suite whose every test session is refused (a flag left by a crashed session); listing its
# tests is not, so the victim is found and every trial refused.
REFUSES_TEST_SESSIONS = {
    "tests/conftest.py": """
        from pathlib import Path

        import pytest

        def pytest_sessionstart(session):
            flag = Path(__file__).parent / ".session-running"
            if flag.exists() and not session.config.option.collectonly:
                pytest.exit("a previous session crashed: remove .session-running",
                            returncode=3)
    """,
    "tests/test_a.py": """
        def test_victim():
            assert True
    """,
    "tests/.session-running": "crashed",
}


def test_bisect_whose_trials_run_nothing_is_unconfirmed_not_unreproducible(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", REFUSES_TEST_SESSIONS)
    monkeypatch.chdir(root)
    out = tmp_path / "bisect.json"
    code = run_cli(["bisect", "tests/test_a.py::test_victim", "tests", "--timeout", "10",
                    "--json", str(out)])
    answer = read_json(out)
    assert code == 1
    assert answer["kind"] == "unconfirmed"
    assert answer["polluters"] == []
    why = answer["unconfirmed"]
    assert isinstance(why, dict)
    assert why["reason"] == "refused"
    assert why["log_line"] == REFUSAL
    assert why["trial"] == "running it alone"
