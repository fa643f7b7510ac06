"""The CI gate: --fail-on, --baseline (new, known, fixed, not checked), `isoscan baseline`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import suitegen
from report_store import add_session

from isoscan.cli import main

VICTIM = "tests/test_b.py::test_victim"
POLLUTER = "tests/test_a.py::test_polluter"
WOBBLY = "tests/test_c.py::test_wobbly"
FINE = "tests/test_d.py::test_fine"


def evidence(failed: list[int], passed: list[int], prefix: list[str]) -> dict[str, Any]:
    return {"failed_runs": failed, "passed_runs": passed, "alone": ["passed"],
            "failing_order": {"run_id": failed[0], "process": "main-1", "seed": None,
                              "prefix": prefix, "outcomes": ["failed"]},
            "passing_order": None, "concurrent": [], "note": ""}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / ".isoscan"
    rows = {POLLUTER: "..", VICTIM: "F.", WOBBLY: ".F", FINE: ".."}
    add_session(root, rows, {
        VICTIM: ("order-dependent", evidence([1], [2], [POLLUTER])),
        WOBBLY: ("non-deterministic", {"failed_runs": [2], "passed_runs": [1],
                                       "note": "the same order passed and failed"}),
    })
    return root


def write_baseline(path: Path, cases: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"schema": "isoscan.baseline/1", "cases": cases}))
    return path


def gate(store: Path, tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "gate.json"
    code = main(["report", str(store), "--json", str(out), *args])
    return code, json.loads(out.read_text())["gate"]


def test_default_gate_fails_on_order_dependence_only(store: Path, tmp_path: Path) -> None:
    code, result = gate(store, tmp_path)
    assert code == 1
    assert result["new"] == [{"nodeid": VICTIM, "verdict": "order-dependent"}]
    code, result = gate(store, tmp_path, "--fail-on", "non-deterministic")
    assert code == 1 and result["new"] == [{"nodeid": WOBBLY, "verdict": "non-deterministic"}]
    code, _ = gate(store, tmp_path, "--fail-on", "flaky,broken")
    assert code == 0


def test_baseline_round_trip_passes_the_gate_and_keeps_reasons(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "isoscan-baseline.json"
    assert main(["baseline", str(store), "-o", str(base)]) == 0
    doc = json.loads(base.read_text())
    assert doc["schema"] == "isoscan.baseline/1"
    assert [(c["nodeid"], c["verdict"], c["polluters"]) for c in doc["cases"]] == [
        (VICTIM, "order-dependent", [POLLUTER]), (WOBBLY, "non-deterministic", [])]
    doc["cases"][0]["reason"] = "tracked in #123"
    base.write_text(json.dumps(doc))
    assert main(["baseline", str(store), "-o", str(base)]) == 0
    assert json.loads(base.read_text())["cases"][0]["reason"] == "tracked in #123"
    capsys.readouterr()
    code, result = gate(store, tmp_path, "--baseline", str(base), "--fail-on",
                        "order-dependent,non-deterministic")
    assert code == 0
    assert result["new"] == [] and len(result["known"]) == 2
    assert "Gate passed: no new cases" in capsys.readouterr().out


def test_gate_fails_only_on_cases_the_baseline_lacks(store: Path, tmp_path: Path) -> None:
    base = write_baseline(tmp_path / "b.json", [{"nodeid": VICTIM, "verdict": "brittle"}])
    # Listed as brittle, now order-dependent: a different case, so the gate fails.
    code, result = gate(store, tmp_path, "--baseline", str(base))
    assert code == 1 and result["new"] == [{"nodeid": VICTIM, "verdict": "order-dependent"}]
    # A case without a verdict accepts the test whatever it is called.
    base = write_baseline(tmp_path / "b.json", [{"nodeid": VICTIM}])
    code, result = gate(store, tmp_path, "--baseline", str(base))
    assert code == 0 and result["known"] == [{"nodeid": VICTIM, "verdict": "order-dependent"}]


def test_cases_that_no_longer_reproduce_are_fixed(
        store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write_baseline(tmp_path / "b.json", [
        {"nodeid": VICTIM, "verdict": "order-dependent"},
        {"nodeid": FINE, "verdict": "order-dependent", "reason": "was leaking a tmp dir"},
        {"nodeid": "tests/test_gone.py::test_removed", "verdict": "brittle"},
    ])
    md = tmp_path / "summary.md"
    code, result = gate(store, tmp_path, "--baseline", str(base), "--markdown", str(md))
    assert code == 0
    assert result["fixed"] == [{"nodeid": FINE, "verdict": "order-dependent"}]
    assert result["unseen"] == [{"nodeid": "tests/test_gone.py::test_removed",
                                 "verdict": "brittle"}]
    out = capsys.readouterr().out
    assert f"{FINE} (order-dependent): fixed: no longer reproduces" in out
    assert f"fixed, remove from the baseline: `{FINE}`" in md.read_text()


@pytest.mark.parametrize(("content", "message"), [
    (None, "file not found"),
    ("{not json", "not a readable JSON file"),
    ('{"schema": "other", "cases": []}', "isoscan.baseline/1"),
    ('{"schema": "isoscan.baseline/1", "cases": [{"verdict": "brittle"}]}', "nodeid"),
    ('{"schema": "isoscan.baseline/1", "cases": [{"nodeid": "x", "verdict": "odd"}]}',
     "unknown verdict"),
])
def test_bad_baselines_are_usage_errors(store: Path, tmp_path: Path, content: str | None,
                                        message: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "b.json"
    if content is not None:
        base.write_text(content)
    assert main(["report", str(store), "--baseline", str(base)]) == 2
    assert message in capsys.readouterr().err


def test_seeds_checks_its_baseline_before_running_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tests").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["seeds", "tests", "--baseline", "missing.json"]) == 2
    assert not (tmp_path / ".isoscan").exists()
    assert main(["seeds", "tests", "--count", "2", "--shard", "1/2"]) == 2  # no --plan-seed


def test_session_ids_pick_a_session(store: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    add_session(store, {VICTIM: "..."})  # session 2: all passed
    out = tmp_path / "r.json"
    assert main(["report", "--store", str(store), "1", "--json", str(out)]) == 1
    assert json.loads(out.read_text())["session"] == 1
    assert main(["report", "--store", str(store), "--json", str(out)]) == 0  # latest: 2
    assert json.loads(out.read_text())["session"] == 2
    assert main(["report", "--store", str(store), "9"]) == 2
    assert "no session 9" in capsys.readouterr().err


def test_merge_prefers_the_confirmed_verdict(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    add_session(one, {VICTIM: "F.", POLLUTER: ".."},
                {VICTIM: ("order-dependent", evidence([1], [2], [POLLUTER]))})
    add_session(two, {VICTIM: ".F", POLLUTER: ".."},
                {VICTIM: ("non-deterministic", {"failed_runs": [2], "passed_runs": [1]})})
    out = tmp_path / "m.json"
    assert main(["report", "--merge", str(two), str(one), "--json", str(out)]) == 1
    doc = json.loads(out.read_text())
    victim = next(t for t in doc["tests"] if t["nodeid"] == VICTIM)
    assert victim["verdict"] == "order-dependent"
    # Runs renumbered 1-4 (two's first); failures counted across both stores.
    assert victim["evidence"]["failed_runs"] == [2, 3]
    assert victim["evidence"]["failing_order"]["run_id"] == 3
    assert [r["label"] for r in doc["runs"]][2] == f"{one}: seed 100 -n 0"


def test_merge_of_a_store_and_junit_artifacts(store: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    junit = suitegen.DATA / "junit" / "pytest"
    assert main(["report", str(store), str(junit)]) == 2  # mixing sources needs --merge
    assert "--merge" in capsys.readouterr().err
    out = tmp_path / "m.json"
    assert main(["report", "--merge", str(store), str(junit), "--json", str(out),
                 "--fail-on", "order-dependent,flaky"]) == 1
    doc = json.loads(out.read_text())
    assert [s["kind"] for s in doc["sources"]] == ["store", "junit"]
    assert len(doc["runs"]) == 2 + 3
    verdicts = {t["nodeid"]: t["verdict"] for t in doc["tests"]}
    assert verdicts[VICTIM] == "order-dependent"  # as the store confirmed it
    assert verdicts["tests.test_shop::test_cache_warm"] == "flaky"  # from the JUnit runs
    assert {(c["nodeid"], c["verdict"]) for c in doc["gate"]["new"]} == {
        (VICTIM, "order-dependent"), ("tests.test_shop::test_cache_warm", "flaky")}
