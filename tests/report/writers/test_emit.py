"""Every output format of `isoscan report`, produced from a store and from foreign JUnit, checked:
JUnit against the schema pytest validates with and re-read by junitparser, JSON against
docs/json-report.md, Markdown's table, the SVG's cells."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import suitegen
from junitparser import Failure, JUnitXml, Skipped

from isoscan.cli import main
from isoscan.execution.argv import Ordering
from isoscan.execution.junit import CaseResult, read_junit
from isoscan.execution.runner import RunResult
from isoscan.model.outcomes import Outcome
from isoscan.model.verdicts import Evidence, Replay
from isoscan.store.db import Store

DOCS = suitegen.REPO / "docs" / "json-report.md"
DATA = suitegen.DATA / "junit"
SVG = "{http://www.w3.org/2000/svg}"

POLLUTER = "tests/test_a.py::test_sets_flag"
HELPER = "tests/test_a.py::test_opens_db"
VICTIM = "tests/test_b.py::test_reads[a|b <c> & `d`]"
BRITTLE = "tests/test_c.py::test_needs_setup"
SETTER = "tests/test_c.py::test_setup"
STEADY = "tests/test_d.py::test_fine"
RUNS = [("collected", None), ("reversed", None), ("random", 11), ("random", 12)]
F, P = Outcome.FAILED, Outcome.PASSED
CELLS = {
    POLLUTER: [P, P, P, P], HELPER: [P, P, P, P], VICTIM: [F, P, F, P],
    SETTER: [P, P, P, P], BRITTLE: [P, F, P, F], STEADY: [P, P, P, P],
}


def make_store(root: Path) -> Path:
    """A store as `isoscan seeds` leaves it, including evidence keys a later bisect adds."""
    store = Store(root)
    sid = store.begin_session("seeds", root, ["tests"], [], 30.0, "0123456789abcdef")
    ids = []
    for number, (kind, seed) in enumerate(RUNS):
        run_id, _ = store.start_run(sid, "plan", kind, seed, 0)
        results = {t: CaseResult(t, row[number], 0.01, "") for t, row in CELLS.items()}
        status = "failed" if any(o is F for o in (r.outcome for r in results.values())) else "ok"
        store.finish_run(run_id, RunResult(Ordering(kind, seed), 0, results=results,
                                           status=status, exit_code=1, seconds=0.5))
        ids.append(run_id)
    victim = Evidence(failed_runs=[ids[0], ids[2]], passed_runs=[ids[1], ids[3]],
                      alone=["passed"] * 3,
                      failing_order=Replay(ids[0], "main-1", [POLLUTER, HELPER], None,
                                           ["failed"] * 3)).to_json()
    # Keys a newer isoscan may store: a bisect answer, and something not known yet.
    victim["pairs"] = [{"victim": VICTIM, "polluters": [[POLLUTER]], "state_setters": []}]
    victim["from_the_future"] = {"kept": True}
    brittle = Evidence(failed_runs=[ids[1], ids[3]], passed_runs=[ids[0], ids[2]],
                       alone=["failed"] * 3,
                       passing_order=Replay(ids[0], "main-1", [SETTER], None,
                                            ["passed"] * 3)).to_json()
    store.save_verdicts(sid, {VICTIM: ("order-dependent", victim), BRITTLE: ("brittle", brittle)})
    store.end_session(sid, "done")
    store.close()
    return root


@pytest.fixture
def outputs(tmp_path: Path) -> dict[str, Any]:
    store = make_store(tmp_path / "store")
    files = {k: tmp_path / f"out.{k}" for k in ("json", "xml", "md", "svg", "html")}
    code = main(["report", str(store), "--json", str(files["json"]), "--junit-xml",
                 str(files["xml"]), "--markdown", str(files["md"]), "--svg", str(files["svg"]),
                 "--html", str(files["html"])])
    return {"code": code, "store": store, **files}


# JUnit ----------------------------------------------------------------------------------------
TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]{0,3})?")  # SUREFIRE_TIME
CASE_CHILDREN = {"skipped", "errors", "failure", "rerunFailure", "rerunError", "flakyFailure",
                 "flakyError", "system-out", "system-err"}


def validate_junit(path: Path) -> ET.Element:
    """The rules of junit-10.xsd (the schema pytest's own tests validate xunit2 output with)."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert set(root.attrib) <= {"name", "time", "tests", "failures", "errors"}
    for suite in root:
        assert suite.tag == "testsuite"
        assert {"name", "tests", "failures", "errors"} <= set(suite.attrib)
        assert set(suite.attrib) <= {"name", "tests", "failures", "errors", "group", "time",
                                     "skipped", "timestamp", "hostname", "id", "package",
                                     "file", "log", "url", "version"}
        assert TIME.fullmatch(suite.get("time", ""))
        cases = suite.findall("testcase")
        assert {c.tag for c in suite} <= {"testsuite", "properties", "testcase", "system-out",
                                          "system-err"}
        for prop in suite.iter("property"):
            assert set(prop.attrib) == {"name", "value"}
        for case in cases:
            assert "name" in case.attrib
            assert set(case.attrib) <= {"name", "time", "classname", "group"}
            assert {c.tag for c in case} <= CASE_CHILDREN
            for result in case:
                assert set(result.attrib) <= {"type", "message"}
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(len(c.findall("failure")) for c in cases)
        assert int(suite.get("skipped", "0")) == sum(len(c.findall("skipped")) for c in cases)
    return root


def test_junit_validates_and_junitparser_reads_it_back(outputs: dict[str, Any]) -> None:
    assert outputs["code"] == 1
    validate_junit(outputs["xml"])
    cases = {(c.classname, c.name): c for suite in JUnitXml.fromfile(str(outputs["xml"]))
             for c in suite}
    assert set(cases) == {("tests.test_b", "test_reads[a|b <c> & `d`]"),
                          ("tests.test_c", "test_needs_setup")}
    victim = cases[("tests.test_b", "test_reads[a|b <c> & `d`]")]
    failure = victim.result[0]
    assert isinstance(failure, Failure)
    # The bisect answer stored with the evidence names the polluter, not the whole prefix.
    assert failure.message == f"order-dependent: polluter: {POLLUTER}"
    assert VICTIM in (failure.text or "")
    brittle = cases[("tests.test_c", "test_needs_setup")].result[0]
    assert brittle.message.startswith(f"brittle: state-setter: {SETTER}")
    outcomes = read_junit(outputs["xml"])
    assert {r.outcome for r in outcomes.values()} == {Outcome.FAILED}


def test_junit_marks_baseline_cases_skipped(outputs: dict[str, Any], tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    assert main(["baseline", str(outputs["store"]), "-o", str(base)]) == 0
    out = tmp_path / "gated.xml"
    assert main(["report", str(outputs["store"]), "--baseline", str(base),
                 "--junit-xml", str(out)]) == 0
    validate_junit(out)
    results = [c.result[0] for suite in JUnitXml.fromfile(str(out)) for c in suite]
    assert len(results) == 2 and all(isinstance(r, Skipped) for r in results)


# JSON -----------------------------------------------------------------------------------------
MAPS = {"tests[].outcomes", "summary"}  # keyed by run id / verdict: documented as maps


def key_paths(value: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            if path not in MAPS:
                paths |= key_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, f"{prefix}[]")
    return paths


def documented() -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", DOCS.read_text(), flags=re.M))


def test_json_has_every_key_documented(outputs: dict[str, Any], tmp_path: Path) -> None:
    doc = json.loads(outputs["json"].read_text())
    assert doc["schema"] == "isoscan.report/1"
    foreign = tmp_path / "foreign.json"
    main(["report", str(DATA / "pytest"), "--json", str(foreign)])
    found = key_paths(doc) | key_paths(json.loads(foreign.read_text()))
    found = {p for p in found if not p.startswith(("tests[].evidence.from_the_future",
                                                    "tests[].evidence.pairs"))}
    missing = found - documented()
    assert not missing, f"keys missing from {DOCS.name}: {sorted(missing)}"
    victim = next(t for t in doc["tests"] if t["nodeid"] == VICTIM)
    assert victim["evidence"]["from_the_future"] == {"kept": True}  # stored keys survive
    assert victim["blame"]["culprits"] == [POLLUTER]
    assert doc["gate"]["fail_on"] == ["brittle", "import-time", "order-dependent",
                                      "parallel-only", "unconfirmed"]
    assert doc["sources"][0]["git_head"] == "0123456789abcdef"


# Markdown -------------------------------------------------------------------------------------
def test_markdown_table_survives_awkward_ids(outputs: dict[str, Any]) -> None:
    text = outputs["md"].read_text()
    assert text.startswith("### isoscan: 1 order-dependent, 1 brittle, 4 stable - "
                           "**gate failed**")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(rows) == 4  # header, separator, two unstable tests
    for row in rows:
        # Five cells: unescaped pipes inside an id would add columns.
        assert len(re.findall(r"(?<!\\)\|", row)) == 6, row
    assert "<code>tests/test_b.py::test_reads[a&#124;b &lt;c&gt; &amp; `d`]</code>" in text
    assert "| brittle | **new** | 2 of 4 |" in text


def test_step_summary_is_appended_under_github_actions(
        outputs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("## earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["report", str(outputs["store"])]) == 1
    text = summary.read_text()
    assert text.startswith("## earlier step\n### isoscan: 1 order-dependent")
    assert text.count("### isoscan:") == 1


# SVG / HTML -----------------------------------------------------------------------------------
def test_svg_has_one_rect_per_cell(outputs: dict[str, Any]) -> None:
    root = ET.parse(outputs["svg"]).getroot()
    assert root.tag == f"{SVG}svg"
    rects = root.findall(f".//{SVG}rect")
    assert len(rects) == 2 * len(RUNS)  # two unstable tests × four runs
    tips = [r.findtext(f"{SVG}title") or "" for r in rects]
    assert f"{VICTIM} - #1 collected -n 0: failed" in tips
    assert f"{VICTIM} - #2 reversed -n 0: passed" in tips
    fills = {r.get("fill") for r in rects}
    assert len(fills) == 2  # passed and failed colours
    labels = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "#3 seed 11 -n 0" in labels


def test_svg_of_a_clean_foreign_report_draws_every_test(tmp_path: Path) -> None:
    picture = tmp_path / "clean.svg"
    assert main(["report", str(DATA / "jest" / "junit-1.xml"), "--svg", str(picture)]) == 0
    rects = ET.parse(picture).getroot().findall(f".//{SVG}rect")
    assert len(rects) == 3  # no unstable test: all three tests × one run


def test_html_page_embeds_the_picture(outputs: dict[str, Any]) -> None:
    page = outputs["html"].read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<rect ") == 2 * len(RUNS)
    assert "test_reads[a|b &lt;c&gt; &amp; `d`]" in page
    assert f"polluter: {POLLUTER}" in page
