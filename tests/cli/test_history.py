"""`isoscan history`: failure rates per test across every stored plan run, oldest first."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_store import add_session

from isoscan.cli import main

VICTIM = "tests/test_b.py::test_victim"
FINE = "tests/test_a.py::test_fine"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / ".isoscan"
    add_session(root, {VICTIM: "F...", FINE: "...."}, git_head="aaaaaaaaaaaa1111")
    add_session(root, {VICTIM: "FF-s", FINE: "...."}, git_head="bbbbbbbbbbbb2222")
    # Confirmation trials are made to fail: they must not count.
    add_session(root, {VICTIM: "FFFF", FINE: "...."}, purpose="confirm")
    return root


def test_rates_per_test_oldest_first(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "2 sessions, 8 plan runs (oldest first):" in out
    assert out.index("aaaaaaaaaa") < out.index("bbbbbbbbbb")
    row = next(line for line in out.splitlines() if VICTIM in line)
    # 3 failures in 6 runs where it ran (not-run and skipped do not count): 1/4 then 2/2.
    assert row.replace("│", " ").split() == [VICTIM, "3/6", "50%", "1/4", "2/2"]
    assert FINE not in out
    assert main(["history", "--store", str(store), "--all"]) == 0
    assert FINE in capsys.readouterr().out


def test_one_test_run_by_run(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", VICTIM, "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert f"{VICTIM}: failed 3 of 6 plan runs (50%)" in out
    lines = [line.split() for line in out.splitlines() if line.startswith("s")]
    assert [(cells[0], cells[3], cells[4], cells[5]) for cells in lines if len(cells) == 6] == [
        ("s1", "aaaaaaaaaa", "1/4", "F..."), ("s2", "bbbbbbbbbb", "2/2", "FF-s")]


def test_unknown_test_and_missing_store(store: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "tests/test_b.py::test_victm", "--store", str(store)]) == 2
    assert f"did you mean: {VICTIM}" in capsys.readouterr().err
    assert main(["history", "--store", str(tmp_path / "nothing")]) == 3
