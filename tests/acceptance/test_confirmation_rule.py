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


# The victim fails after either polluter: in the collected order right after test_a's, in the
# reversed order after test_z's polluter and its slow neighbour.
TWO_FAILING_ORDERS = {
    **POLLUTED_PAIR,
    "tests/test_z.py": "import time\nimport state\n\ndef test_other_polluter():\n"
                       "    state.FLAGS['x'] = 2\n\ndef test_slow():\n    time.sleep(0.8)\n",
}


def test_the_cheapest_failing_order_is_replayed_and_bisect_starts_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Every failing order is evidence alike; the one whose tests before the victim took least
    time is replayed (the reversed run, newer, has the 0.8 s test in it), and `isoscan bisect`
    without --run starts from that order, which needs no check."""
    monkeypatch.chdir(write(tmp_path / "suite", TWO_FAILING_ORDERS))
    out = tmp_path / "report.json"
    assert run_cli(["seeds", "tests", "--count", "0", "--json", str(out)]) == 1
    victim = next(t for t in read_json(out)["tests"]  # type: ignore[union-attr]
                  if t["nodeid"] == VICTIM)
    assert victim["verdict"] == "order-dependent"
    runs = {r["id"]: r["order"] for r in read_json(out)["runs"]}  # type: ignore[union-attr]
    assert set(victim["evidence"]["failed_runs"]) == set(runs)  # it failed in both
    replayed = victim["evidence"]["failing_order"]
    assert runs[replayed["run_id"]] == "collected"
    assert replayed["prefix"] == ["tests/test_a.py::test_polluter"]
    capsys.readouterr()
    answer = tmp_path / "bisect.json"
    assert run_cli(["bisect", VICTIM, "--no-explain", "--no-sweep", "--json", str(answer)]) == 0
    found = read_json(answer)
    assert f"run #{replayed['run_id']} " in str(found["source"])
    assert found["polluters"] == [["tests/test_a.py::test_polluter"]]
    # That order reproduces by the rule already: no trial checks it again.
    steps = capsys.readouterr().out
    assert f"starting order: run #{replayed['run_id']} " in steps
    assert "replay of the starting order" not in steps
