"""`isoscan replay`: a lanes file it cannot read is a one-line usage error (exit 2), never a
traceback. (Replays themselves are timing tests: tests/acceptance/test_parallel_culprits.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from isoscan.cli import main


def test_a_damaged_lanes_file_is_a_one_line_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lanes = tmp_path / "x.lanes.json"
    lanes.write_text('{"schema": "isoscan.lanes/1", "lanes": [')
    assert main(["replay", str(lanes), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable lanes file" in err[0]
    lanes.write_text('{"schema": "isoscan.lanes/1", "victim": "t"}')
    assert main(["replay", str(lanes), "--store", str(tmp_path / "s")]) == 2
    assert "damaged lanes file" in capsys.readouterr().err
