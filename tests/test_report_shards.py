"""The CI example end to end, as far as it runs locally: `seeds --shard K/N` jobs as separate
isoscan processes into separate stores, then `report --merge` and the gate, with and without a
baseline. Also: `report` on a store prints what `seeds` printed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from isoscan.cli import main
from isoscan.errors import UsageError
from isoscan.plan import build_plan
from isoscan.shard import parse_shard, plan_seeds, shard_slice, sharded_plan

PLAN_SEED = "4242"
VICTIM = "tests/test_pair.py::test_b_victim"
POLLUTER = "tests/test_pair.py::test_a_polluter"
SUITE = {
    "pytest.ini": "[pytest]\n",
    "tests/test_pair.py": (
        "import os\n\n"
        "def test_a_polluter():\n    os.environ['ISOSCAN_TEST_FLAG'] = '1'\n\n"
        "def test_b_victim():\n    assert 'ISOSCAN_TEST_FLAG' not in os.environ\n\n"
        "def test_c_fine():\n    assert True\n"
    ),
}


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GITHUB_STEP_SUMMARY", "PYTEST_ADDOPTS", "ISOSCAN_TEST_FLAG")}
    clean.update(NO_COLOR="1", COLUMNS="100")
    return clean


def isoscan(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "isoscan", *args], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def ci(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two shard jobs, each its own process and store, as a CI matrix would run them."""
    root = tmp_path_factory.mktemp("ci")
    suite = root / "suite"
    for name, text in SUITE.items():
        (suite / name).parent.mkdir(parents=True, exist_ok=True)
        (suite / name).write_text(text)
    jobs = {}
    for k in (1, 2):
        store = root / "artifacts" / f"isoscan-shard-{k}"
        out = isoscan(suite, "seeds", "tests", "--count", "2", "--plan-seed", PLAN_SEED,
                      "--shard", f"{k}/2", "--timeout", "30", "--store", str(store),
                      "--json", str(root / f"shard-{k}.json"))
        jobs[k] = out
    return {"root": root, "suite": suite, "jobs": jobs}


def read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_shards_split_the_plan_and_share_seeds(ci: dict[str, Any]) -> None:
    root: Path = ci["root"]
    for k, job in ci["jobs"].items():
        assert job.returncode in (0, 1), (k, job.stdout, job.stderr)
    runs = [(r["order"], r["seed"]) for k in (1, 2) for r in read(root / f"shard-{k}.json")["runs"]]
    # Both jobs drew the same two seeds from the plan seed; together they ran the plan once.
    expected = build_plan(plan_seeds(2, [], int(PLAN_SEED)), [0])
    assert sorted(runs, key=str) == sorted(
        [(p.ordering.kind, p.ordering.seed) for p in expected], key=str)
    assert len(set(runs)) == 4


def test_merge_reports_the_victim_and_fails_the_gate(ci: dict[str, Any]) -> None:
    root: Path = ci["root"]
    merged = root / "merged.json"
    out = isoscan(root, "report", "--merge", "artifacts/isoscan-shard-1",
                  "artifacts/isoscan-shard-2", "--json", str(merged),
                  "--junit-xml", str(root / "isoscan-junit.xml"))
    assert out.returncode == 1, out.stdout + out.stderr
    doc = read(merged)
    verdicts = {t["nodeid"]: t["verdict"] for t in doc["tests"]}
    assert verdicts[VICTIM] == "order-dependent"
    assert verdicts[POLLUTER] == "stable"
    assert len(doc["runs"]) == 4
    assert [s["kind"] for s in doc["sources"]] == ["store", "store"]
    assert doc["gate"]["new"] == [{"nodeid": VICTIM, "verdict": "order-dependent"}]
    assert "Gate failed: 1 case" in out.stdout
    # The collected order (polluter first) is a failing run wherever it landed.
    collected = next(r["id"] for r in doc["runs"] if r["order"] == "collected")
    victim = next(t for t in doc["tests"] if t["nodeid"] == VICTIM)
    assert collected in victim["evidence"]["failed_runs"]


def test_a_baseline_with_the_victim_makes_the_gate_pass(ci: dict[str, Any]) -> None:
    root: Path = ci["root"]
    shards = ["artifacts/isoscan-shard-1", "artifacts/isoscan-shard-2"]
    made = isoscan(root, "baseline", "--merge", *shards, "-o", "known.json")
    assert made.returncode == 0, made.stderr
    cases = read(root / "known.json")["cases"]
    assert [(c["nodeid"], c["verdict"]) for c in cases] == [(VICTIM, "order-dependent")]
    assert cases[0]["polluters"] == [POLLUTER]
    gated = isoscan(root, "report", "--merge", *shards, "--baseline", "known.json")
    assert gated.returncode == 0, gated.stdout + gated.stderr
    assert "known, still reproduces" in gated.stdout


def test_merging_a_folder_of_artifacts_finds_the_stores(ci: dict[str, Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # download-artifact puts each job's artifact in its own folder under one path.
    monkeypatch.chdir(ci["root"])
    out = ci["root"] / "folder.json"
    assert main(["report", "--merge", "artifacts", "--json", str(out)]) == 1
    assert len(read(out)["sources"]) == 2
    assert main(["report", "--merge", "artifacts", "--fail-on", "flaky"]) == 0


def test_several_stores_need_merge(ci: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ci["root"])
    code = main(["report", "artifacts/isoscan-shard-1", "artifacts/isoscan-shard-2"])
    assert code == 2
    assert "--merge" in capsys.readouterr().err


def _report_lines(text: str) -> list[str]:
    # Everything from the findings table on, except the wall time that differs by a hair.
    lines = text[text.index("Unstable tests"):].splitlines()
    return [re.sub(r", [0-9.]+s\. ", ", Ns. ", line) for line in lines]


def test_report_on_a_store_prints_what_seeds_printed(ci: dict[str, Any]) -> None:
    job = ci["jobs"][1]
    out = isoscan(ci["root"], "report", "artifacts/isoscan-shard-1")
    assert out.returncode == job.returncode
    lines = _report_lines(out.stdout)
    assert any(VICTIM in line for line in lines) and "Gate failed: 1 case" in out.stdout
    assert lines == _report_lines(job.stdout)


def test_shard_arguments_are_checked() -> None:
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "2", "a/b", "1/0"):
        with pytest.raises(UsageError):
            parse_shard(bad)
    with pytest.raises(UsageError, match="--plan-seed"):
        sharded_plan(3, [], [0], "1/2", None)
    with pytest.raises(UsageError, match="at most 2 shards"):
        sharded_plan(0, [], [0], "1/3", None)
    # Explicit seeds need no plan seed: every job lists the same ones.
    assert len(sharded_plan(0, [5, 6], [0], "2/2", None)) == 2


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_shards_cover_the_plan_exactly_once(n: int) -> None:
    plan = build_plan(plan_seeds(4, [9], 77), [0, 2])
    slices = [shard_slice(plan, k, n) for k in range(1, n + 1)]
    assert sorted(map(plan.index, (p for s in slices for p in s))) == list(range(len(plan)))
    assert plan_seeds(4, [9], 77) == plan_seeds(4, [9], 77) != plan_seeds(4, [9], 78)
