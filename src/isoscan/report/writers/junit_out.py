"""``--junit-xml``: one failing test case per unstable test, so the test views of GitHub, GitLab
and Jenkins show each one with its verdict and, when known, its polluters or state-setters.

The file follows the JUnit schema pytest validates its own xunit2 output against (junit-10.xsd):
no properties or extra attributes on test cases; the node id and the evidence go in the failure
text. Cases the baseline already lists are written as skipped, so the view agrees with the gate.
"""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET  # writing only; nothing is parsed here
from pathlib import Path

from isoscan.execution.junit import mangle
from isoscan.model.import_time import Alone, ImportDependence
from isoscan.model.report import SeedsReport
from isoscan.model.verdicts import Finding
from isoscan.report.baseline import Gate
from isoscan.report.causes import Cause, causes_of
from isoscan.report.writers.common import (
    blame_of,
    clean,
    evidence_of,
    import_time_lines,
    labels,
    unstable_sorted,
)

SUITE = "isoscan"
def split_nodeid(nodeid: str) -> tuple[str, str]:
    """(classname, name): pytest's own mangling for pytest ids, else around the first ``::``."""
    if nodeid.split("::", 1)[0].endswith(".py"):
        return mangle(nodeid)
    classname, sep, name = nodeid.partition("::")
    return (classname, name) if sep else ("", nodeid)


def junit_tree(report: SeedsReport, gate: Gate | None = None) -> ET.ElementTree:
    findings = unstable_sorted(report)
    known = {f.nodeid for f in gate.known} if gate is not None else set()
    skipped = sum(1 for f in findings if f.nodeid in known)
    failures = len(findings) - skipped
    seconds = f"{report.seconds:.3f}"
    root = ET.Element("testsuites", name=SUITE, tests=str(len(findings)),
                      failures=str(failures), errors="0", time=seconds)
    suite = ET.SubElement(root, "testsuite", name=SUITE, tests=str(len(findings)),
                          failures=str(failures), errors="0", skipped=str(skipped), time=seconds,
                          timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
                          hostname=socket.gethostname())
    properties = ET.SubElement(suite, "properties")
    summary = {
        "isoscan.tests": str(len(report.matrix.tests)),
        "isoscan.runs": str(len(report.matrix.runs)),
        "isoscan.session": str(report.session_id),
    }
    if gate is not None:
        summary["isoscan.fail_on"] = ",".join(sorted(v.value for v in gate.fail_on))
        if gate.baseline is not None:
            summary["isoscan.baseline"] = gate.baseline.path
    for name, value in summary.items():
        ET.SubElement(properties, "property", name=name, value=clean(value))
    # One cause, one line: a property per polluter set, in the order of the causes.
    for cause in causes_of(report):
        ET.SubElement(properties, "property", name="isoscan.cause", value=clean(cause.text))
    causes = causes_of(report)
    for finding in findings:
        _case(suite, report, finding, gate if finding.nodeid in known else None, causes)
    ET.indent(root)
    return ET.ElementTree(root)


def _case(suite: ET.Element, report: SeedsReport, finding: Finding, known: Gate | None,
          causes: list[Cause]) -> None:
    classname, name = split_nodeid(finding.nodeid)
    attrib = {"classname": clean(classname)} if classname else {}
    attrib.update(name=clean(name), time="0.000")
    case = ET.SubElement(suite, "testcase", attrib)
    blame = blame_of(report, finding)
    message = clean(f"{finding.verdict.value}: {blame.text}" if blame.text
                    else finding.verdict.value)
    cause = next((c for c in causes if finding.nodeid in c.victims), None)
    if cause is not None and len(cause.victims) > 1:
        message += clean(f" (one cause: {cause.text})")
    if known is not None and known.baseline is not None:
        element = ET.SubElement(case, "skipped", type="isoscan-baseline",
                                message=f"known case in baseline {known.baseline.path}: {message}")
    else:
        element = ET.SubElement(case, "failure", type=finding.verdict.value, message=message)
    element.text = clean(details(report, finding))


def details(report: SeedsReport, finding: Finding) -> str:
    """The failure text: everything the verdict rests on, for a person reading a CI page."""
    evidence = evidence_of(report, finding)
    names = {run.id: f"#{n} {label}" for n, (run, label)
             in enumerate(zip(report.matrix.runs, labels(report), strict=True), start=1)}
    lines = [f"test: {finding.nodeid}", f"verdict: {finding.verdict.value}",
             blame_of(report, finding).text]
    for key, title in (("failed_runs", "failed in"), ("passed_runs", "passed in")):
        runs = [names[r] for r in evidence.get(key) or [] if r in names]
        if runs:
            lines.append(f"{title}: {', '.join(runs)}")
    if evidence.get("alone"):
        lines.append(f"run {Alone.SUITE.phrase}: {', '.join(map(str, evidence['alone']))}")
    if evidence.get("alone_in_module"):
        lines.append(f"run {Alone.MODULE.phrase}: "
                     f"{', '.join(map(str, evidence['alone_in_module']))}")
    dependence = ImportDependence.from_json(evidence.get("import_time"))
    if dependence is not None:
        lines += import_time_lines(dependence)
    for key, title in (("failing_order", "failing order"), ("passing_order", "passing order")):
        replay = evidence.get(key)
        if isinstance(replay, dict) and isinstance(replay.get("prefix"), list):
            outcomes = ", ".join(map(str, replay.get("outcomes") or []))
            lines.append(f"{title} ({len(replay['prefix'])} tests before it; replays: "
                         f"{outcomes or 'none'}):")
            lines += [f"  {t}" for t in replay["prefix"]]
    if evidence.get("note"):
        lines.append(f"note: {evidence['note']}")
    return "\n".join(line for line in lines if line) + "\n"


def write(report: SeedsReport, gate: Gate | None, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(report, gate).write(target, encoding="utf-8", xml_declaration=True)
