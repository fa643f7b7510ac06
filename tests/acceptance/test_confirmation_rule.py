"""--confidence and --replays on the command line: the stated rule each verdict reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from suitegen import read_json, run_cli, write

POLLUTED_PAIR = {
    "tests/test_a.py": "import state\n\ndef test_polluter():\n    state.FLAGS['x'] = 1\n",
    "tests/test_b.py": "import state\n\ndef test_victim():\n    assert 'x' not in state.FLAGS\n",
}
VICTIM = "tests/test_b.py::test_victim"


@pytest.mark.parametrize("args, message", [
    (["--confidence", "1.5"], "--confidence"),
    (["--confidence", "0.2"], "--confidence"),
    (["--replays", "0"], "--replays"),
])
def test_a_confidence_out_of_range_is_a_one_line_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        args: list[str], message: str) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", POLLUTED_PAIR))
    assert run_cli(["seeds", "tests", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_every_verdict_reports_its_bound_and_a_low_cap_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", POLLUTED_PAIR))
    out = tmp_path / "report.json"
    markdown = tmp_path / "report.md"
    # --replays 3, as before the rule: three results a side cannot reach 0.99.
    assert run_cli(["seeds", "tests", "--count", "0", "--replays", "3", "--json", str(out),
                    "--markdown", str(markdown)]) == 1
    assert "needs 4 replays" in capsys.readouterr().out
    victim = next(t for t in read_json(out)["tests"]  # type: ignore[union-attr]
                  if t["nodeid"] == VICTIM)
    assert victim["verdict"] == "order-dependent"
    check = victim["evidence"]["confirmation"]
    assert check["decision"] == "capped" and not check["met"]
    assert (check["misbehaved"], check["behaved"]) == (3, 3)
    assert check["bound"] == pytest.approx(2 / 64)
    assert "short of the bound" in victim["evidence"]["note"]
    assert "3 of 3 in its order, 3 of 3 alone; bound 3.1%, short of the 1% asked" in \
        markdown.read_text()
    # At the default confidence the same verdict reaches its bound.
    assert run_cli(["seeds", "tests", "--count", "0", "--json", str(out)]) == 1
    victim = next(t for t in read_json(out)["tests"]  # type: ignore[union-attr]
                  if t["nodeid"] == VICTIM)
    check = victim["evidence"]["confirmation"]
    assert check["decision"] == "confirmed" and check["met"] and check["bound"] <= 0.01
    assert len(victim["evidence"]["failing_order"]["outcomes"]) == check["order_runs"] == 4
