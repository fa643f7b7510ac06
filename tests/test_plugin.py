"""isoscan's pytest plugin as pytest finds it: through the ``pytest11`` entry point, inert until
one of its options is given, blocked by ``-p no:isoscan``, and harmless when ``-p isoscan.plugin``
asks for it again. Every run is a real pytest subprocess of the environment isoscan is installed
in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from suitegen import run_cli, write

SUITE = {
    "tests/test_a.py": """
        import pytest

        def test_one():
            assert True

        @pytest.mark.parametrize("n", [1, 2])
        def test_two(n):
            assert n < 2
    """,
    # Lists, once per session, every plugin that has a per-test hook, by its registered name.
    "conftest.py": """
        import json, os

        PER_TEST = ("pytest_runtest_protocol", "pytest_runtest_setup", "pytest_runtest_call",
                    "pytest_runtest_teardown", "pytest_runtest_logstart",
                    "pytest_runtest_logreport", "pytest_runtest_logfinish",
                    "pytest_runtest_makereport", "pytest_pyfunc_call")

        def pytest_sessionfinish(session):
            manager = session.config.pluginmanager
            # Objects registered without a name get their id(): named by class instead.
            names = sorted({name if not (name := manager.get_name(impl.plugin) or "").isdigit()
                            else type(impl.plugin).__qualname__
                            for hook in PER_TEST
                            for impl in getattr(manager.hook, hook).get_hookimpls()})
            out = os.environ.get("PER_TEST_HOOKS")
            if out:
                with open(out, "w") as f:
                    json.dump(names, f)
    """,
}
TIMING = re.compile(r' (time|timestamp|hostname)="[^"]*"')


def pytest_run(root: Path, *args: str, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "tests", "-p", "no:randomly", "-p",
            "no:cacheprovider", *args]
    return subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False,
                          env=env)


def test_without_an_option_the_plugin_adds_nothing_per_test_and_the_junit_is_identical(
        tmp_path: Path) -> None:
    root = write(tmp_path / "s", SUITE)
    xml: dict[str, str] = {}
    hooks: dict[str, list[str]] = {}
    for mode, extra in (("loaded", ()), ("blocked", ("-p", "no:isoscan"))):
        out = root / f"{mode}.json"
        env = {**os.environ, "PER_TEST_HOOKS": str(out)}
        done = pytest_run(root, f"--junitxml={mode}.xml", *extra, env=env)
        assert done.returncode == 1, done.stdout  # test_two[2] fails, in both modes
        xml[mode] = TIMING.sub("", (root / f"{mode}.xml").read_text())
        hooks[mode] = json.loads(out.read_text())
    # The entry point did load isoscan's plugin in the first run ...
    listed = pytest_run(root, "--trace-config", "--co", "-q").stdout
    assert "isoscan.plugin" in listed and "isoscan.pytest_entry" in listed
    # ... and it changed nothing in the JUnit XML (all but the clock) nor any per-test hook.
    assert xml["loaded"] == xml["blocked"]
    assert "test_two[2]" in xml["loaded"]
    assert hooks["loaded"] == hooks["blocked"]
    assert not [n for n in hooks["loaded"] if "isoscan" in n]


def test_record_option_and_ini_work_without_dash_p(tmp_path: Path) -> None:
    root = write(tmp_path / "s", SUITE)
    done = pytest_run(root, "--isoscan-record=rec")
    assert done.returncode == 1, done.stdout + done.stderr
    (recorded,) = (root / "rec").glob("main-*.jsonl")
    assert "tests/test_a.py::test_two[2]" in recorded.read_text()
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\nisoscan_record = ini-rec\n")
    done = pytest_run(root, "-n", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    workers = sorted(p.name.split("-")[0] for p in (root / "ini-rec").glob("*.jsonl"))
    assert workers == ["gw0", "gw1", "main"]


def test_dash_p_again_is_harmless_and_no_isoscan_turns_it_off(tmp_path: Path) -> None:
    root = write(tmp_path / "s", SUITE)
    twice = pytest_run(root, "-p", "isoscan.plugin", "--isoscan-record=rec")
    assert twice.returncode == 1, twice.stdout + twice.stderr
    assert len(list((root / "rec").glob("main-*.jsonl"))) == 1
    off = pytest_run(root, "-p", "no:isoscan", "--isoscan-record=off")
    assert off.returncode == 4  # pytest's usage error: the option is unknown
    assert "--isoscan-record" in off.stderr
    assert not (root / "off").exists()
    # Asked for by name, it loads even when the entry point is blocked (isoscan's own runs).
    named = pytest_run(root, "-p", "no:isoscan", "-p", "isoscan.plugin", "--isoscan-record=on")
    assert named.returncode == 1, named.stdout + named.stderr
    assert len(list((root / "on").glob("main-*.jsonl"))) == 1


@pytest.mark.slow
def test_isoscan_runs_a_suite_whose_addopts_block_the_plugin(tmp_path: Path) -> None:
    root = write(tmp_path / "s", SUITE)
    (root / "pytest.ini").write_text(
        "[pytest]\npythonpath = .\naddopts = -p no:isoscan\nisoscan_record = ci-rec\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        code = run_cli(["seeds", "tests", "--count", "1", "--workers", "0", "--json", "out.json"])
    assert code == 0
    report = json.loads((root / "out.json").read_text())
    verdicts = {t["nodeid"]: t["verdict"] for t in report["tests"]}
    assert verdicts["tests/test_a.py::test_two[2]"] == "broken"
    assert verdicts["tests/test_a.py::test_one"] == "stable"
    assert not (root / "ci-rec").exists()  # the ini's folder is the user's runs', not isoscan's
