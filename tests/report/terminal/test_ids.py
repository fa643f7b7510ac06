"""Node ids on the terminal (report/terminal/ids.py): lines wrap at spaces, and an id too long
for a line breaks only after `::` or `/`; the seeds report read at 80 and 120 columns never
folds an id mid-word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_store import add_session

from isoscan.cli import main
from isoscan.console import console
from isoscan.report.terminal.ids import HANG, wrap_ids

LONG = "tests/health/test_health_check.py::test_victim_health_check_crashes_in_maintenance"
ODD = "tests/test_keys.py::test_victim_key_is_available[na\\xefve/key::1]"
POLLUTER = "tests/health/test_maintenance_mode.py::test_polluter_enters_maintenance_mode"


def test_a_line_that_fits_is_left_alone() -> None:
    assert wrap_ids(f"{ODD} (order-dependent)", 120, "  ") == [f"  {ODD} (order-dependent)"]


def test_lines_wrap_at_spaces_first() -> None:
    lines = wrap_ids(f"{ODD} (order-dependent)", 80, "  ")
    assert lines == [f"  {ODD}", f"  {HANG}(order-dependent)"]


def test_an_id_longer_than_a_line_breaks_after_a_separator_only() -> None:
    lines = wrap_ids(f"{LONG} (order-dependent)", 80, "  ")
    assert all(len(line) <= 80 for line in lines)
    assert lines[0] == "  tests/health/test_health_check.py::"
    assert lines[1].strip() == "test_victim_health_check_crashes_in_maintenance (order-dependent)"
    # Nothing lost, nothing added but the indents.
    assert "".join(line.strip() + ("" if line.endswith(("::", "/")) else " ")
                   for line in lines).strip() == f"{LONG} (order-dependent)"


def test_a_piece_longer_than_a_line_stays_whole() -> None:
    word = "x" * 100
    assert wrap_ids(f"a {word} b", 40) == ["a", f"{HANG}{word}", f"{HANG}b"]


def _evidence(failed: list[int], passed: list[int]) -> dict[str, object]:
    return {"failed_runs": failed, "passed_runs": passed, "alone": ["passed"],
            "failing_order": {"run_id": failed[0], "process": "main-1", "seed": None,
                              "prefix": [POLLUTER], "outcomes": ["failed"]},
            "passing_order": None, "concurrent": [], "note": ""}


@pytest.mark.parametrize("width", [80, 120])
def test_the_seeds_report_never_folds_an_id_mid_word(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        width: int) -> None:
    store = tmp_path / ".isoscan"
    rows = {LONG: "F.F.", ODD: ".FF.", POLLUTER: "...."}
    add_session(store, rows, {LONG: ("order-dependent", _evidence([1, 3], [2, 4])),
                              ODD: ("order-dependent", _evidence([2, 3], [1, 4]))})
    monkeypatch.setattr(console, "width", width)
    assert main(["report", str(store)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert all(len(line) <= width for line in lines), [x for x in lines if len(x) > width]
    # Each id is on a line of its own or split after a separator, never elsewhere.
    text = re.sub(r"(::|/)\n +", r"\1", out)
    for nodeid in (LONG, ODD):
        assert nodeid in text
        for line in lines:
            piece = line.strip().split(" ")[0]
            if piece.startswith("tests/") and nodeid.startswith(piece) and piece != nodeid:
                assert piece.endswith(("::", "/")), line
