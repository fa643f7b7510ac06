"""The terminal report: a table of the unstable tests and a coloured grid of their matrix rows."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from isoscan.console import console
from isoscan.model.imports import Alone
from isoscan.model.report import SeedsReport
from isoscan.model.verdicts import Finding, Verdict
from isoscan.report.cells import CELL, legend_items
from isoscan.report.terminal.imports import render_import_time
from isoscan.store.db import RunRow

VERDICT_STYLE = {
    Verdict.ORDER_DEPENDENT: "bold red",
    Verdict.BRITTLE: "bold red",
    Verdict.PARALLEL_ONLY: "bold red",
    Verdict.IMPORT_TIME: "bold red",
    Verdict.UNCONFIRMED: "bold red",
    Verdict.NON_DETERMINISTIC: "yellow",
    Verdict.FLAKY: "yellow",
    Verdict.BROKEN: "magenta",
    Verdict.STABLE: "green",
}

_ORDER = [Verdict.ORDER_DEPENDENT, Verdict.BRITTLE, Verdict.PARALLEL_ONLY, Verdict.IMPORT_TIME,
          Verdict.UNCONFIRMED, Verdict.NON_DETERMINISTIC, Verdict.FLAKY, Verdict.BROKEN]


def render_report(report: SeedsReport) -> None:
    folded = {t for c in report.class_order for t in c.tests}
    unstable = sorted((f for f in report.unstable if f.nodeid not in folded),
                      key=lambda f: (_ORDER.index(f.verdict), f.nodeid))
    runs = report.matrix.runs
    console.print()
    _class_order(report)
    if unstable:
        console.print(_findings_table(unstable, runs))
        console.print()
        console.print(_grid(unstable, report))
        console.print(_legend(runs, report.run_labels))
    render_import_time([(f.nodeid, f.evidence.import_time) for f in unstable
                        if f.evidence.import_time is not None])
    if report.pairs:
        console.print()
        console.print(_pairs_table(report))
    summary = Text()
    summary.append(f"{len(report.matrix.tests)} tests, {len(runs)} runs")
    if report.trials:
        summary.append(f", {report.trials} confirmation trials")
    summary.append(f", {report.seconds:.1f}s. ")
    counts = {v: sum(1 for f in unstable if f.verdict is v) for v in _ORDER}
    for verdict, count in counts.items():
        if count:
            summary.append(f"{count} {verdict.value}  ", style=VERDICT_STYLE[verdict])
    if folded:
        summary.append(f"{len(folded)} in classes that depend on their method order  ",
                       style="bold red")
    summary.append(f"{report.stable_count} stable (not listed)", style="green")
    console.print(summary)
    if report.interrupted:
        console.print(
            f"Interrupted: {len(runs)} of {report.planned} runs completed and kept; "
            f"{len(report.findings)} verdicts kept; {len(report.unconfirmed)} tests that "
            "failed somewhere were not confirmed.",
            style="yellow",
        )


def _findings_table(findings: list[Finding], runs: list[RunRow]) -> Table:
    table = Table(title="Unstable tests", title_justify="left", expand=False)
    table.add_column("test", overflow="fold")
    table.add_column("verdict", no_wrap=True)
    table.add_column("failed in", overflow="fold")
    table.add_column("evidence", overflow="fold")
    index = {run.id: n for n, run in enumerate(runs, start=1)}
    for finding in findings:
        failed = ", ".join(f"#{index[r]}" for r in finding.evidence.failed_runs if r in index)
        table.add_row(
            finding.nodeid,
            Text(" + ".join(v.value for v in finding.verdicts),
                 style=VERDICT_STYLE[finding.verdict]),
            failed or "-",
            _evidence_text(finding),
        )
    return table


def _class_order(report: SeedsReport) -> None:
    """Classes that depend on their own method order: said once, each class on one line,
    rather than a row per test that a shuffled order broke."""
    if not report.class_order:
        return
    count = sum(len(c.tests) for c in report.class_order)
    console.print(f"Classes whose tests depend on their own method order ({count} brittle or "
                  "order-dependent tests, not listed below): they fail only when the class's "
                  "methods run out of their collected order. --keep-class-order keeps each "
                  "class's methods in order while shuffling the rest.", style="bold red")
    for dependence in report.class_order:
        names = ", ".join(t.rpartition("::")[2] for t in dependence.tests)
        console.print(f"  {dependence.owner}: {names}")
    console.print()


def _pairs_table(report: SeedsReport) -> Table:
    table = Table(title="Who breaks whom (bisected, verified)", title_justify="left")
    table.add_column("victim / brittle test", overflow="fold")
    table.add_column("polluters / state-setters / culprits", overflow="fold")
    table.add_column("trials", justify="right")
    for pair in report.pairs:
        if pair.polluters:
            blamed = "\n".join(" + ".join(group) for group in pair.polluters)
            if pair.parallel is not None:
                blamed += "".join(f"\n{s.text}" for s in pair.parallel.shared[:1])
        elif pair.state_setters:
            blamed = "needs: " + ", ".join(pair.state_setters)
        else:
            blamed = f"({pair.kind.value}: {pair.note})"
        table.add_row(pair.victim, blamed, str(pair.trials))
    return table


def _evidence_text(finding: Finding) -> str:
    ev = finding.evidence
    parts = []
    if ev.alone:
        parts.append(f"{Alone.SUITE.phrase}: {'/'.join(sorted(set(ev.alone)))}")
    if ev.alone_in_module:
        parts.append(f"{Alone.MODULE.phrase}: {'/'.join(sorted(set(ev.alone_in_module)))}")
    if ev.failing_order is not None:
        replay = ev.failing_order
        parts.append(f"after {len(replay.prefix)} tests: {'/'.join(sorted(set(replay.outcomes)))}")
    if ev.passing_order is not None:
        replay = ev.passing_order
        parts.append(f"after {len(replay.prefix)} tests: {'/'.join(sorted(set(replay.outcomes)))}")
    if ev.confirmation is not None:
        parts.append(f"rule: {ev.confirmation.summary()}")
    if ev.concurrent:
        shown = ", ".join(ev.concurrent[:3]) + (" …" if len(ev.concurrent) > 3 else "")
        parts.append(f"ran beside: {shown}")
    if ev.note:
        parts.append(ev.note)
    return "; ".join(parts)


def _grid(findings: list[Finding], report: SeedsReport) -> Table:
    runs = report.matrix.runs
    grid = Table(title="Matrix (rows: tests, columns: runs)", title_justify="left",
                 box=None, pad_edge=False, show_header=True)
    grid.add_column("#", justify="right", style="dim")
    grid.add_column("".join(_digit(n) for n in range(1, len(runs) + 1)), no_wrap=True)
    grid.add_column("test", overflow="fold")
    for number, finding in enumerate(findings, start=1):
        cells = Text()
        for run in runs:
            char, style = CELL[report.matrix.cell(finding.nodeid, run.id)]
            cells.append(char, style=style)
        grid.add_row(str(number), cells, finding.nodeid)
    return grid


def _legend(runs: list[RunRow], labels: dict[int, str]) -> Text:
    legend = Text("runs: ", style="dim")
    legend.append("  ".join(f"#{n} {labels.get(run.id) or run.label}"
                            for n, run in enumerate(runs, start=1)))
    legend.append("\ncells: ", style="dim")
    for char, style, words in legend_items():
        legend.append(char, style=style)
        legend.append(f" {words}  ")
    return legend


def _digit(n: int) -> str:
    return str(n % 10)
