"""``--markdown``: a summary for a pull request comment or ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

import html
from pathlib import Path

from isoscan.model.import_time import ImportDependence
from isoscan.model.report import SeedsReport
from isoscan.model.verdicts import Finding
from isoscan.report.baseline import Gate
from isoscan.report.causes import causes_of
from isoscan.report.cells import CELL, legend_items
from isoscan.report.writers.common import (
    VERDICT_ORDER,
    blame_of,
    evidence_of,
    import_time_lines,
    labels,
    unstable_sorted,
)


def code(text: str) -> str:
    """Inline code that survives a table cell: pipes escaped, backticks handled."""
    if "`" in text:
        return "<code>" + html.escape(text).replace("|", "&#124;") + "</code>"
    return "`" + text.replace("|", "\\|") + "`"


def cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def markdown(report: SeedsReport, gate: Gate | None = None) -> str:
    findings = unstable_sorted(report)
    lines = [f"### isoscan: {_headline(report, findings, gate)}", "", _scope(report), ""]
    lines += _causes(report)
    if findings:
        lines += ["| test | verdict | gate | failed in | cause |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [_row(report, f, gate) for f in findings]
        lines.append("")
        lines += _import_time(report, findings)
    if gate is not None:
        lines += _gate_lines(gate)
    if findings:
        lines += _matrix(report, findings)
    return "\n".join(lines).rstrip() + "\n"


def _headline(report: SeedsReport, findings: list[Finding], gate: Gate | None) -> str:
    counts = [f"{sum(1 for f in findings if f.verdict is v)} {v.value}" for v in VERDICT_ORDER
              if any(f.verdict is v for f in findings)]
    counts.append(f"{report.stable_count} stable")
    status = "" if gate is None else (" - gate passed" if gate.passed else " - **gate failed**")
    return ", ".join(counts) + status


def _scope(report: SeedsReport) -> str:
    runs = len(report.matrix.runs)
    text = f"{len(report.matrix.tests)} tests × {runs} run{'s' if runs != 1 else ''}"
    if report.trials:
        text += f", {report.trials} confirmation trials"
    text += f", {report.seconds:.1f}s."
    heads = sorted({str(s["git_head"])[:12] for s in report.sources if s.get("git_head")})
    if heads:
        text += f" Commit {', '.join(code(h) for h in heads)}."
    if report.interrupted:
        text += " Interrupted: not every planned run completed."
    return text


def _causes(report: SeedsReport) -> list[str]:
    """One line per cause, one fix each, its victims folded under it."""
    causes = causes_of(report)
    if not causes:
        return []
    lines = ["**Causes** (one fix each):", ""]
    for cause in causes:
        lines.append(f"- {cause.text}")
        lines.append(f"  <details><summary>{len(cause.victims)} victims</summary>"
                     f" {', '.join(code(v) for v in cause.victims)}</details>")
    lines += [f"- {sweep.describe()}" for sweep in report.sweeps]
    return [*lines, ""]


def _row(report: SeedsReport, finding: Finding, gate: Gate | None) -> str:
    failed = len(report.matrix.failed_runs(finding.nodeid))
    status = "-"
    if gate is not None and any(v in gate.fail_on for v in finding.verdicts):
        status = "known" if finding in gate.known else "**new**"
    elif gate is not None:
        status = "not gated"
    cause = blame_of(report, finding).text
    check = finding.evidence.confirmation
    if check is not None:  # the stated rule's bound (model/confidence.py)
        cause += f" (rule: {check.summary()})"
    verdicts = " + ".join(v.value for v in finding.verdicts)
    return (f"| {code(finding.nodeid)} | {verdicts} | {status} | "
            f"{failed} of {len(report.matrix.runs)} | {cell(cause)} |")


def _import_time(report: SeedsReport, findings: list[Finding]) -> list[str]:
    """Each import-time dependence once, with the tests it breaks and the two commands."""
    groups: dict[str, tuple[list[str], ImportDependence]] = {}
    for finding in findings:
        dependence = ImportDependence.from_json(evidence_of(report, finding).get("import_time"))
        if dependence is not None:
            groups.setdefault(dependence.text, ([], dependence))[0].append(finding.nodeid)
    if not groups:
        return []
    lines = ["**Import-time dependences** (pass alone in their own module, fail when other "
             "test modules are collected):", ""]
    for nodeids, dependence in groups.values():
        lines += [f"- {', '.join(code(n) for n in nodeids)}", "", "  ```text"]
        lines += [f"  {line}" for line in import_time_lines(dependence)]
        lines += ["  ```", ""]
    return lines


def _gate_lines(gate: Gate) -> list[str]:
    kinds = ", ".join(sorted(v.value for v in gate.fail_on))
    lines = []
    if gate.new:
        lines.append(f"**Gate failed**: {len(gate.new)} new case(s) in --fail-on {kinds}.")
    else:
        lines.append(f"Gate passed (--fail-on {kinds}).")
    if gate.baseline is not None:
        lines.append("")
        lines.append(f"Baseline {code(gate.baseline.path)}: {len(gate.known)} known case(s) "
                     f"still reproduce, {len(gate.fixed)} fixed, {len(gate.unseen)} not checked.")
        for case in gate.fixed:
            lines.append(f"- fixed, remove from the baseline: {code(case.nodeid)} "
                         f"({case.verdict or 'any verdict'})")
    lines.append("")
    return lines


def _matrix(report: SeedsReport, findings: list[Finding]) -> list[str]:
    names = labels(report)
    width = len(str(len(findings)))
    lines = ["<details><summary>Matrix (rows: tests, columns: runs)</summary>", "", "```text"]
    lines.append(f"{'#':>{width}}  {''.join(str(n % 10) for n in range(1, len(names) + 1))}  test")
    for number, finding in enumerate(findings, start=1):
        cells = "".join(CELL[report.matrix.cell(finding.nodeid, run.id)][0]
                        for run in report.matrix.runs)
        lines.append(f"{number:>{width}}  {cells}  {finding.nodeid}")
    lines += ["", "cells: " + "  ".join(f"{char} {words}" for char, _, words in legend_items())]
    lines += [f"run #{n}: {name}" for n, name in enumerate(names, start=1)]
    lines += ["```", "", "</details>"]
    return lines


def write(report: SeedsReport, gate: Gate | None, target: Path, append: bool = False) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a" if append else "w", encoding="utf-8") as out:
        out.write(markdown(report, gate))
