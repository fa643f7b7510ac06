"""The shipped GitHub Actions example end to end, as far as it runs locally: its `seeds --shard`
command as separate isoscan processes, each in its own checkout with its own store, the stores
placed as download-artifact places them, then its merge-and-gate command, with an empty baseline
and with one that lists the victim. Also: `report` on a store prints what `seeds` printed."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import suitegen

from isoscan.cli import main
from isoscan.errors import UsageError
from isoscan.seeds.planned_runs import build_plan
from isoscan.seeds.shard import parse_shard, plan_seeds, shard_slice, sharded_plan

WORKFLOW = suitegen.EXAMPLES / "ci" / "github-actions.yml"
GITLAB = suitegen.EXAMPLES / "ci" / "gitlab-ci.yml"
RUN_ID = "4242"
SHARDS = 2
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
EMPTY_BASELINE = '{"schema": "isoscan.baseline/1", "cases": []}'


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("GITHUB_STEP_SUMMARY", "PYTEST_ADDOPTS", "ISOSCAN_TEST_FLAG")}
    clean.update(NO_COLOR="1", COLUMNS="100")
    return clean


def isoscan(cwd: Path, *args: str, **more_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "isoscan", *args], cwd=cwd,
                          env={**env(), **more_env}, capture_output=True, text=True,
                          timeout=300, check=False)


def workflow_line(text: str, prefix: str) -> str:
    """The one line of the example that runs ``prefix``, its shell fallback cut off."""
    for line in text.splitlines():
        command = re.sub(r"^\s*(- |run: |#\s+)?", "", line)
        if command.startswith(prefix):
            return command.split(" || ")[0]
    raise AssertionError(f"no '{prefix}' command in the example")


def localise(command: str, values: dict[str, str]) -> list[str]:
    """GitHub expressions replaced by this machine's values; then argv, isoscan dropped."""
    for name, value in values.items():
        command = command.replace("${{ " + name + " }}", value)
    assert "${{" not in command, command
    argv = shlex.split(command)
    assert argv[0] == "isoscan"
    return argv[1:]


def smaller(argv: list[str], **options: str) -> list[str]:
    """The same command with a lighter plan, for a 2-core test machine."""
    argv = list(argv)
    for name, value in options.items():
        argv[argv.index(f"--{name}") + 1] = value
    return argv


@pytest.fixture(scope="module")
def ci(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The seeds jobs of the example, each in its own checkout, as a CI matrix runs them."""
    root = tmp_path_factory.mktemp("ci")
    text = WORKFLOW.read_text()
    gate_dir = root / "gate"
    jobs = {}
    for k in range(1, SHARDS + 1):
        checkout = root / f"job-{k}"
        for name, body in SUITE.items():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            (checkout / name).write_text(body)
        argv = localise(workflow_line(text, "isoscan seeds"), {
            "github.run_id": RUN_ID, "matrix.shard": str(k),
            "strategy.job-total": str(SHARDS)})
        argv = smaller(argv, count="2", workers="0")
        # Under GitHub Actions each job's summary gets its shard's Markdown, unasked.
        jobs[k] = isoscan(checkout, *argv, "--json", str(root / f"shard-{k}.json"),
                          "--junit-xml", str(root / f"shard-{k}.xml"),
                          GITHUB_STEP_SUMMARY=str(root / f"summary-{k}.md"))
        # upload-artifact of the store folder, download-artifact into shards/<name>/
        store = checkout / argv[argv.index("--store") + 1]
        shutil.copytree(store, gate_dir / "shards" / f"isoscan-shard-{k}")
    return {"root": root, "gate": gate_dir, "jobs": jobs, "text": text}


def read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_shards_split_the_plan_and_share_seeds(ci: dict[str, Any]) -> None:
    root: Path = ci["root"]
    for k, job in ci["jobs"].items():
        assert job.returncode in (0, 1), (k, job.stdout, job.stderr)
    runs = [(r["order"], r["seed"]) for k in (1, 2) for r in read(root / f"shard-{k}.json")["runs"]]
    # Both jobs planned the same two orders, under the same two seeds, from the run id;
    # together they ran the plan once.
    expected = sharded_plan(2, [], [0], None, int(RUN_ID), planned=[(), ()])
    assert sorted(runs, key=str) == sorted(
        [(p.ordering.kind, p.ordering.seed) for p in expected], key=str)
    assert len(set(runs)) == 4
    plans = [read(root / f"shard-{k}.json")["plan"] for k in (1, 2)]
    assert plans[0] == plans[1] and plans[0]["plan_seed"] == int(RUN_ID)
    # seeds writes the same outputs as report: the shard that ran the collected order has
    # the victim as a failing JUnit case and in its job summary.
    found = [k for k in (1, 2) if VICTIM in (root / f"summary-{k}.md").read_text()]
    assert found and all("order-dependent" in (root / f"shard-{k}.xml").read_text()
                         for k in found)


def gate_command(ci: dict[str, Any]) -> list[str]:
    return localise(workflow_line(ci["text"], "isoscan report"), {})


def test_merge_job_reports_the_victim_and_fails(ci: dict[str, Any]) -> None:
    gate: Path = ci["gate"]
    (gate / ".isoscan-baseline.json").write_text(EMPTY_BASELINE)
    out = isoscan(gate, *gate_command(ci))
    assert out.returncode == 1, out.stdout + out.stderr
    doc = read(gate / "isoscan.json")
    verdicts = {t["nodeid"]: t["verdict"] for t in doc["tests"]}
    assert verdicts[VICTIM] == "order-dependent"
    assert verdicts[POLLUTER] == "stable"
    assert len(doc["runs"]) == 4
    assert [s["kind"] for s in doc["sources"]] == ["store", "store"]
    assert doc["gate"]["new"] == [{"nodeid": VICTIM, "verdict": "order-dependent"}]
    assert "Gate failed: 1 new case" in out.stdout
    # The collected order (polluter first) is a failing run, whichever job ran it.
    collected = next(r["id"] for r in doc["runs"] if r["order"] == "collected")
    victim = next(t for t in doc["tests"] if t["nodeid"] == VICTIM)
    assert collected in victim["evidence"]["failed_runs"]
    for name in ("isoscan-junit.xml", "isoscan.md", "isoscan-matrix.svg",
                 "isoscan-matrix.html"):
        assert (gate / name).stat().st_size > 0, name


def test_a_baseline_with_the_victim_makes_the_gate_pass(ci: dict[str, Any]) -> None:
    gate: Path = ci["gate"]
    made = isoscan(gate, *localise(workflow_line(ci["text"], "isoscan baseline"), {}))
    assert made.returncode == 0, made.stderr
    cases = read(gate / ".isoscan-baseline.json")["cases"]
    assert [(c["nodeid"], c["verdict"]) for c in cases] == [(VICTIM, "order-dependent")]
    assert cases[0]["polluters"] == [POLLUTER]
    gated = isoscan(gate, *gate_command(ci))
    assert gated.returncode == 0, gated.stdout + gated.stderr
    assert "known, still reproduces" in gated.stdout


def test_gitlab_example_uses_the_same_split(ci: dict[str, Any]) -> None:
    text = GITLAB.read_text()
    assert re.search(r"^  parallel: \d+$", text, flags=re.M)
    seeds = workflow_line(text, "isoscan seeds")
    assert '--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"' in seeds
    assert '--plan-seed "$CI_PIPELINE_ID"' in seeds
    assert '--store "isoscan-store-$CI_NODE_INDEX"' in seeds
    assert "- isoscan-store-$CI_NODE_INDEX/" in text  # the artifact the gate job receives
    assert workflow_line(text, "isoscan report").startswith(
        "isoscan report --merge isoscan-store-* ")
    assert "junit: isoscan-junit.xml" in text


def test_merging_a_folder_of_artifacts_finds_the_stores(ci: dict[str, Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ci["gate"])
    out = ci["root"] / "folder.json"
    assert main(["report", "--merge", "shards/isoscan-shard-1", "shards/isoscan-shard-2",
                 "--json", str(out)]) == 1
    assert len(read(out)["sources"]) == 2
    assert main(["report", "--merge", "shards", "--fail-on", "flaky"]) == 0


def test_several_stores_need_merge(ci: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ci["gate"])
    code = main(["report", "shards/isoscan-shard-1", "shards/isoscan-shard-2"])
    assert code == 2
    assert "--merge" in capsys.readouterr().err


def _report_lines(text: str) -> list[str]:
    # Everything from the findings table on, except the wall time that differs by a hair and
    # the files each command was asked to write.
    lines = text[text.index("Unstable tests"):].splitlines()
    return [re.sub(r", [0-9.]+s\.(?= |$)", ", Ns.", line) for line in lines
            if not line.startswith("Written: ")]


def test_report_on_a_store_prints_what_seeds_printed(ci: dict[str, Any]) -> None:
    job = ci["jobs"][1]
    out = isoscan(ci["gate"], "report", "shards/isoscan-shard-1")
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
