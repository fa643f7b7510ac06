"""`isoscan report` on JUnit XML from other runners, and on inputs that must be refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import suitegen

from isoscan.cli import main

DATA = suitegen.DATA / "junit"
BAD = DATA / "bad"


def report(tmp_path: Path, *sources: Path | str, extra: tuple[str, ...] = ()
           ) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    out.unlink(missing_ok=True)
    code = main(["report", *map(str, sources), "--json", str(out), *extra])
    return code, json.loads(out.read_text()) if out.exists() else {}


def verdicts(doc: dict[str, Any]) -> dict[str, str]:
    return {t["nodeid"]: t["verdict"] for t in doc["tests"] if t["verdict"] != "stable"}


def test_pytest_junit_runs_classify_flaky_and_broken(tmp_path: Path) -> None:
    code, doc = report(tmp_path, DATA / "pytest")
    assert code == 0  # flaky and broken are not in the default --fail-on
    assert verdicts(doc) == {"tests.test_shop::test_cache_warm": "flaky",
                             "tests.test_shop::test_currency_format": "broken"}
    assert [r["label"] for r in doc["runs"]] == [str(DATA / "pytest" / f"run{n}.xml")
                                                 for n in (1, 2, 3)]
    assert {r["order"] for r in doc["runs"]} == {"junit"}
    outcomes = {t["nodeid"]: list(t["outcomes"].values()) for t in doc["tests"]}
    assert outcomes["tests.test_shop::test_remote_prices"] == ["skipped"] * 3
    assert doc["session"] == 0 and doc["sources"][0]["kind"] == "junit"


def test_fail_on_flaky_gates_foreign_junit(tmp_path: Path) -> None:
    code, doc = report(tmp_path, DATA / "pytest", extra=("--fail-on", "flaky"))
    assert code == 1
    assert doc["gate"]["new"] == [{"nodeid": "tests.test_shop::test_cache_warm",
                                   "verdict": "flaky"}]


def test_ginkgo_reports_keep_spec_names_and_seed(tmp_path: Path) -> None:
    code, doc = report(tmp_path, DATA / "ginkgo", extra=("--fail-on", "flaky,broken"))
    assert code == 1
    assert verdicts(doc) == {
        "Shop Suite::[It] Cart when a coupon is applied takes 10% off [discount]": "flaky"}
    assert [r["seed"] for r in doc["runs"]] == [1714644672, 1714644931]
    pending = next(t for t in doc["tests"] if "ships abroad" in t["nodeid"])
    assert set(pending["outcomes"].values()) == {"skipped"}


def test_surefire_folder_is_one_run_and_reruns_count_as_flaky(tmp_path: Path) -> None:
    code, doc = report(tmp_path, DATA / "surefire")
    assert code == 0
    assert len(doc["runs"]) == 2  # two folders of TEST-*.xml files, one per class
    assert verdicts(doc) == {
        "com.example.shop.CartTest::checkoutEmptiesTheCart": "flaky",
        "com.example.shop.PriceTest::formatsEuro": "flaky",  # <flakyFailure>: retried to a pass
        "com.example.shop.PriceTest::loadsTaxTable": "broken",
    }
    euro = next(t for t in doc["tests"] if t["nodeid"].endswith("formatsEuro"))
    assert "retried" in euro["evidence"]["note"]


def test_jest_junit_ids_are_not_doubled(tmp_path: Path) -> None:
    code, doc = report(tmp_path, *sorted((DATA / "jest").glob("*.xml")))
    assert code == 0
    assert verdicts(doc) == {"cart checkout clears the basket": "flaky"}


def test_each_bad_file_gets_one_line_and_the_rest_is_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(BAD, folder)
    shutil.copy(DATA / "pytest" / "run1.xml", folder / "good-1.xml")
    shutil.copy(DATA / "pytest" / "run2.xml", folder / "good-2.xml")
    (folder / "no-cases.xml").write_text('<testsuites><testsuite name="x" tests="0"/>'
                                         "</testsuites>")
    code, doc = report(tmp_path, folder, extra=("--fail-on", "flaky"))
    err = capsys.readouterr().err
    assert code == 1  # the two good runs still show the flaky test
    assert len(doc["runs"]) == 2
    errors = [line for line in err.splitlines() if line.startswith("isoscan: error:")]
    assert len(errors) == 6, err
    for name in ("empty.xml", "truncated.xml", "billion-laughs.xml", "external-entity.xml",
                 "not-junit.xml", "no-cases.xml"):
        assert sum(name in line for line in errors) == 1, (name, err)


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_entity_tricks_are_refused(name: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = report(tmp_path, BAD / name)
    err = capsys.readouterr().err
    assert code == 3
    assert "refused: it declares XML entities" in err
    assert "root:" not in err  # nothing of /etc/passwd was read into the message


def test_nothing_readable_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(BAD)]) == 3
    assert "nothing readable to report" in capsys.readouterr().err
    assert main(["report", "--store", str(tmp_path / "none")]) == 3  # no store yet


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "nope.xml")]) == 2
    assert main(["report", "7", "--store", str(tmp_path / "none")]) == 3


def test_folder_scan_skips_virtualenvs_and_tool_folders(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for folder in ("venv", "node_modules/pkg", ".git"):
        (tmp_path / "ci" / folder).mkdir(parents=True)
        (tmp_path / "ci" / folder / "junit.xml").write_text("<not-junit/>")
    (tmp_path / "ci" / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    shutil.copy(DATA / "pytest" / "run1.xml", tmp_path / "ci" / "run1.xml")
    code, doc = report(tmp_path, tmp_path / "ci")
    assert code == 0
    assert [r["label"] for r in doc["runs"]] == [str(tmp_path / "ci" / "run1.xml")]
    assert "error" not in capsys.readouterr().err
