"""The report writers and the gate's ``--baseline``, shared by ``seeds`` and ``report``.

``@output_options`` adds ``--junit-xml``, ``--markdown``, ``--svg``, ``--html`` and ``--baseline``
to a command and hands it one ``outputs: OutputOptions`` argument; ``finish_report`` then
judges the gate, prints what it decided, writes the files and returns the exit code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from isoscan.console import console
from isoscan.model.report import SeedsReport
from isoscan.model.verdicts import Verdict
from isoscan.report.baseline import Baseline, evaluate_gate, gate_lines, load_baseline
from isoscan.report.terminal.ids import print_ids
from isoscan.report.writers.emit import Targets, step_summary, write_outputs


@dataclass(frozen=True)
class OutputOptions:
    junit_xml: Path | None = None
    markdown: Path | None = None
    svg: Path | None = None
    html: Path | None = None
    baseline: Baseline | None = None


_FILE = click.Path(dir_okay=False, path_type=Path)
_OPTIONS = [
    click.option("--junit-xml", "junit_xml", type=_FILE, metavar="FILE",
                 help="Write one failing JUnit test case per unstable test (verdict and polluters "
                      "in the message) for CI test views."),
    click.option("--markdown", type=_FILE, metavar="FILE",
                 help="Write a Markdown summary for a pull request. Under GitHub Actions it is "
                      "also appended to $GITHUB_STEP_SUMMARY."),
    click.option("--svg", type=_FILE, metavar="FILE",
                 help="Write a picture of the matrix (tests × runs) as SVG."),
    click.option("--html", type=_FILE, metavar="FILE",
                 help="Write the matrix picture and the findings as one HTML page."),
    click.option("--baseline", "baseline_file", type=_FILE, metavar="FILE",
                 help="Known cases (from 'isoscan baseline'): the gate fails only on cases not "
                      "listed; listed cases that no longer reproduce are reported as fixed."),
]


def output_options(command: Callable[..., int]) -> Callable[..., int]:
    @functools.wraps(command)
    def wrapper(*args: Any, junit_xml: Path | None, markdown: Path | None, svg: Path | None,
                html: Path | None, baseline_file: Path | None, **kwargs: Any) -> int:
        # The baseline is read before any run starts: a typo must not cost a whole session.
        baseline = load_baseline(baseline_file) if baseline_file is not None else None
        outputs = OutputOptions(junit_xml, markdown, svg, html, baseline)
        return command(*args, outputs=outputs, **kwargs)

    decorated: Callable[..., int] = wrapper
    for option in reversed(_OPTIONS):
        decorated = option(decorated)
    return decorated


def finish_report(report: SeedsReport, fail_on: Collection[Verdict], outputs: OutputOptions,
                  json_target: str | None = None) -> int:
    """Gate, print its decision, write every requested output; the gate's exit code."""
    gate = evaluate_gate(report, fail_on, outputs.baseline)
    for line in gate_lines(gate):
        # Listed cases start with two spaces and a node id: wrapped without cutting the id.
        body = line.lstrip(" ")
        print_ids(body, line[:len(line) - len(body)],
                  style="bold red" if line.startswith("Gate failed") else None)
    targets = Targets(json_target, outputs.junit_xml, outputs.markdown, outputs.svg, outputs.html)
    summary = step_summary()
    written = write_outputs(report, gate, targets, summary)
    # Last, so a reader finds the files where the output ends (not stdout's JSON, nor the CI
    # step summary, which is not a file of theirs).
    files = [name for name in written if name != "-" and name != str(summary)]
    if files:
        console.print(f"Written: {', '.join(files)}", soft_wrap=True)
    return gate.exit_code
