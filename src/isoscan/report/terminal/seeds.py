"""The terminal report: the unstable tests, a coloured grid of their matrix rows, and who breaks
whom.

Node ids are long (70-odd characters is common) and must never be folded mid-word, so nothing
here puts one in a table column beside other columns: each id starts a line of its own, indented
at most two columns, and what is said about it follows on the lines below, wrapped at word
boundaries. That reads the same on an 80-column terminal as on a 200-column log.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from isoscan.console import console
from isoscan.model.answer import BisectKind
from isoscan.model.import_time import Alone
from isoscan.model.report import SeedsReport
from isoscan.model.rows import RunRow
from isoscan.model.sweep import Sweep
from isoscan.model.verdicts import Finding, Verdict
from isoscan.report.causes import Cause, causes_of
from isoscan.report.cells import CELL, legend_items
from isoscan.report.terminal.ids import print_ids
from isoscan.report.terminal.import_time import render_import_time

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
        _print_findings(unstable, runs)
        console.print()
        # Its own line: as the table's title it would wrap to the width of a narrow matrix.
        console.print("Matrix (rows: the tests above, by number; columns: runs)",
                      style="italic")
        console.print(_grid(unstable, report))
        console.print(_legend(runs, report.run_labels))
    render_import_time([(f.nodeid, f.evidence.import_time) for f in unstable
                        if f.evidence.import_time is not None])
    causes = causes_of(report)
    if causes:
        console.print()
        _render_causes(causes, report)
    grouped = {v for cause in causes for v in cause.victims}
    if any(pair.victim not in grouped for pair in report.pairs):
        console.print()
        _print_pairs(report, grouped)
    summary = Text()
    summary.append(f"{len(report.matrix.tests)} tests, {len(runs)} runs")
    if report.trials:
        summary.append(f", {report.trials} confirmation trials")
    summary.append(f", {report.seconds:.1f}s.")
    counts = {v: sum(1 for f in unstable if f.verdict is v) for v in _ORDER}
    entries = [(f"{count} {verdict.value}", VERDICT_STYLE[verdict])
               for verdict, count in counts.items() if count]
    if folded:
        entries.append((f"{len(folded)} in classes that depend on their method order",
                        "bold red"))
    entries.append((f"{report.stable_count} stable (not listed)", "green"))
    # The counts on a line of their own, wrapped between entries, never inside one.
    used = console.width
    for entry, style in entries:
        if used + 2 + len(entry) > console.width:
            summary.append("\n")
            used = -2
        else:
            summary.append("  ")
        summary.append(entry, style=style)
        used += 2 + len(entry)
    console.print(summary)
    if report.interrupted:
        console.print(
            f"Interrupted: {len(runs)} of {report.planned} runs completed and kept; "
            f"{len(report.findings)} verdicts kept; {len(report.unconfirmed)} tests that "
            "failed somewhere were not confirmed.",
            style="yellow",
        )


def _print_findings(findings: list[Finding], runs: list[RunRow]) -> None:
    """One block a test: its number (the grid's row), verdict and the runs it failed in, then
    its node id on a line of its own, then the evidence, indented and wrapped at spaces."""
    console.print(Text("Unstable tests", style="bold italic"))
    index = {run.id: n for n, run in enumerate(runs, start=1)}
    for number, finding in enumerate(findings, start=1):
        failed = _run_ranges(sorted(index[r] for r in finding.evidence.failed_runs
                                    if r in index), len(runs))
        head = Text(f"{number:>2} ")
        head.append(" + ".join(v.value for v in finding.verdicts),
                    style=VERDICT_STYLE[finding.verdict])
        head.append(f"  failed in {failed}" if failed else "  failed in no plan run",
                    style="dim")
        console.print(head)
        print_ids(finding.nodeid, "   ", style="bold")
        evidence = _evidence_text(finding)
        if evidence:
            print_ids(evidence, "     ", style="dim")


def _class_order(report: SeedsReport) -> None:
    """Classes that depend on their own method order: said once, each class on one line,
    rather than a row per test that a shuffled order broke."""
    if not report.class_order:
        return
    count = sum(len(c.tests) for c in report.class_order)
    print_ids(f"Classes whose tests depend on their own method order ({count} brittle or "
              "order-dependent tests, not listed below): they fail only when the class's "
              "methods run out of their collected order. --keep-class-order keeps each "
              "class's methods in order while shuffling the rest.", style="bold red")
    for dependence in report.class_order:
        names = ", ".join(t.rpartition("::")[2] for t in dependence.tests)
        print_ids(f"{dependence.owner}: {names}", "  ")
    console.print()


SHOWN_VICTIMS = 6  # victims listed under a cause before "and N more" (the JSON has all)


def _render_causes(causes: list[Cause], report: SeedsReport) -> None:
    """One line per cause (one fix each), its victims under it one node id a line, then what
    each sweep cost."""
    console.print(Text("Causes (bisected or swept, verified): one fix each", style="bold italic"))
    for cause in causes:
        print_ids(cause.text, style="red")
        shown = cause.victims[:SHOWN_VICTIMS]
        for victim in shown:
            print_ids(victim, "  ", style="dim")
        if len(cause.victims) > len(shown):
            print_ids(f"and {len(cause.victims) - len(shown)} more", "  ", style="dim")
    for sweep in report.sweeps:
        print_ids(sweep.describe(), style="dim")


def render_latent_sweeps(report: SeedsReport, sweeps: list[Sweep]) -> None:
    """After the latent polluters: what sweeping them found, one line per cause, its victims
    under it one node id a line."""
    swept = {tuple(s.polluters) for s in sweeps}
    causes = [c for c in causes_of(report) if tuple(c.polluters) in swept]
    console.print()
    console.print(Text("Latent polluters swept (suspected; each victim confirmed by the rule):",
                       style="bold italic"))
    for cause in causes:
        console.print(Text(cause.text, style="red"))
        for victim in cause.victims:
            console.print(Text(f"  {victim}", style="dim"))
    for sweep in sweeps:
        console.print(Text(sweep.describe(), style="dim"))


def _print_pairs(report: SeedsReport, grouped: set[str]) -> None:
    """Each victim's node id on a line, then what breaks it (``←``, a set's further tests
    ``+``) or what it needs, one node id a line; a parallel-only culprit with its worker and
    the resource both use. Victims already listed under a cause are left out."""
    shown = [pair for pair in report.pairs if pair.victim not in grouped]
    trials = sum(pair.trials for pair in shown)
    console.print(Text(f"Who breaks whom (bisected and verified, {trials} trials)",
                       style="bold italic"))
    console.print(Text("← marks what breaks the test above it", style="dim"))
    for pair in shown:
        print_ids(f"{pair.victim} ({_pair_kind(pair.kind)})", style="bold")
        if pair.polluters:
            workers = pair.parallel.workers if pair.parallel is not None else {}
            for group in pair.polluters:
                for n, nodeid in enumerate(group):
                    where = f" (on {workers[nodeid]})" if nodeid in workers else ""
                    print_ids(f"{'←' if n == 0 else '+'} {nodeid}{where}", "  ", style="red")
            if pair.parallel is not None:
                for shared in pair.parallel.shared[:1]:
                    print_ids(shared.text, "    ")
        elif pair.state_setters:
            for n, nodeid in enumerate(pair.state_setters):
                print_ids(f"{'needs' if n == 0 else '  and'} {nodeid}", "  ", style="green")
        else:
            print_ids(pair.note or "nothing verified", "  ", style="dim")


def _pair_kind(kind: BisectKind) -> str:
    return {BisectKind.VICTIM: "order-dependent"}.get(kind, kind.value)


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
    grid = Table(box=None, pad_edge=False, show_header=True)
    grid.add_column("#", justify="right", style="dim", no_wrap=True)
    grid.add_column("".join(_digit(n) for n in range(1, len(runs) + 1)), no_wrap=True)
    # The test's own name only (the whole id is listed above under its number); cut with an
    # ellipsis where the terminal is too narrow, never folded.
    grid.add_column("test", no_wrap=True, overflow="ellipsis")
    for number, finding in enumerate(findings, start=1):
        cells = Text()
        for run in runs:
            char, style = CELL[report.matrix.cell(finding.nodeid, run.id)]
            cells.append(char, style=style)
        grid.add_row(str(number), cells, _own_name(finding.nodeid))
    return grid


def _legend(runs: list[RunRow], labels: dict[int, str]) -> Text:
    # Wrapped between runs, never inside one's label ("planned (seed 42) -n 2").
    entries = [f"#{n} {labels.get(run.id) or run.label}" for n, run in enumerate(runs, start=1)]
    legend = Text("runs:", style="dim")
    used = len("runs:")
    for entry in entries:
        if used + 2 + len(entry) > console.width:
            legend.append("\n     ")
            used = 5
        legend.append(f"  {entry}")
        used += 2 + len(entry)
    legend.append("\ncells:", style="dim")
    used = len("cells:")
    for char, style, words in legend_items():
        # Wrapped between entries, never inside one ("t timeout, early").
        if used + 2 + len(char) + 1 + len(words) > console.width:
            legend.append("\n      ")
            used = 6
        legend.append("  ")
        legend.append(char, style=style)
        legend.append(f" {words}")
        used += 2 + len(char) + 1 + len(words)
    return legend


def _run_ranges(numbers: list[int], runs: int) -> str:
    """``#1-#3 #5`` for runs 1, 2, 3 and 5 (in the grid's numbering); ``all 20 runs`` when a
    test failed in every run: short enough for one line at 80 columns."""
    if runs > 1 and numbers == list(range(1, runs + 1)):
        return f"all {runs} runs"
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return " ".join(f"#{a}" if a == b else f"#{a}-#{b}" if b > a + 1 else f"#{a} #{b}"
                    for a, b in spans)


def _own_name(nodeid: str) -> str:
    """``test_y[a::b]`` of ``tests/t.py::TestX::test_y[a::b]``: a parameter id may hold ``::``."""
    path, bracket, params = nodeid.partition("[")
    return path.rpartition("::")[2] + bracket + params


def _digit(n: int) -> str:
    return str(n % 10)
