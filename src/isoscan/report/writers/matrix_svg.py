"""``--svg`` / ``--html``: a picture of the pass/fail matrix a person can attach to a bug report.

Rows are the unstable tests (every test, up to ``MAX_ROWS``, when none is unstable), columns the
runs, labelled by order, seed and workers. Hand-written SVG: each cell is exactly one ``<rect>``
with a tooltip; the legend uses circles so that rects and cells stay one to one.
"""

from __future__ import annotations

import math
from html import escape as _escape
from pathlib import Path

from isoscan.model.outcomes import Outcome
from isoscan.model.report import SeedsReport
from isoscan.model.verdicts import Verdict
from isoscan.report.writers.common import blame_of, clean, labels, unstable_sorted

MAX_ROWS = 200
MAX_NAME = 72  # characters of a test id shown; the tooltip has all of it
CELL, GAP, CHAR, LINE = 16, 2, 7.2, 20
FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"

COLOURS = {
    Outcome.PASSED: "#2da44e",
    Outcome.FAILED: "#cf222e",
    Outcome.ERROR: "#a40e26",
    Outcome.CRASHED: "#8250df",
    Outcome.TIMEOUT: "#6639ba",
    Outcome.TIMEOUT_EARLY: "#a475f9",
    Outcome.SKIPPED: "#d4a72c",
    Outcome.NOT_RUN: "#d0d7de",
}
VERDICT_COLOURS = {
    Verdict.ORDER_DEPENDENT: "#cf222e", Verdict.BRITTLE: "#cf222e",
    Verdict.PARALLEL_ONLY: "#cf222e", Verdict.IMPORT_TIME: "#cf222e",
    Verdict.UNCONFIRMED: "#cf222e",
    Verdict.NON_DETERMINISTIC: "#9a6700",
    Verdict.FLAKY: "#9a6700", Verdict.BROKEN: "#8250df", Verdict.STABLE: "#1a7f37",
}


def escape(text: str) -> str:
    return _escape(clean(text))


def rows_of(report: SeedsReport) -> tuple[list[str], int]:
    """The tests drawn, and how many more were left out."""
    unstable = [f.nodeid for f in unstable_sorted(report)]
    tests = unstable or report.matrix.tests
    return tests[:MAX_ROWS], max(0, len(tests) - MAX_ROWS)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def svg(report: SeedsReport) -> str:
    tests, left_out = rows_of(report)
    runs = report.matrix.runs
    names = [f"#{n} {label}" for n, label in enumerate(labels(report), start=1)]
    name_w = max((len(_short(t, MAX_NAME)) for t in tests), default=10) * CHAR + 40
    head_h = max((len(_short(n, 48)) for n in names), default=4) * CHAR * math.sin(math.pi / 3)
    top = 40 + head_h + 10
    grid_x = 10 + name_w
    verdict_x = grid_x + len(runs) * (CELL + GAP) + 10
    width = verdict_x + 20 * CHAR
    height = top + len(tests) * (CELL + GAP) + 70
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="12" '
           'style="background:#ffffff">',
           f"<title>{escape(_title(report))}</title>",
           f'<text x="10" y="22" font-size="14" font-weight="bold">{escape(_title(report))}</text>']
    for col, name in enumerate(names):
        x = grid_x + col * (CELL + GAP) + CELL / 2 + 4
        y = top - 6
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" transform="rotate(-60 {x:.1f} {y:.1f})">'
                   f"{escape(_short(name, 48))}<title>{escape(name)}</title></text>")
    verdicts = {f.nodeid: f.verdict for f in report.findings}
    for row, nodeid in enumerate(tests):
        y = top + row * (CELL + GAP)
        out.append(f'<text x="10" y="{y + CELL - 4:.1f}">{row + 1:>3} '
                   f"{escape(_short(nodeid, MAX_NAME))}<title>{escape(nodeid)}</title></text>")
        for col, run in enumerate(runs):
            outcome = report.matrix.cell(nodeid, run.id)
            out.append(f'<rect class="cell" x="{grid_x + col * (CELL + GAP):.1f}" y="{y:.1f}" '
                       f'width="{CELL}" height="{CELL}" rx="2" fill="{COLOURS[outcome]}">'
                       f"<title>{escape(nodeid)} - {escape(names[col])}: {outcome.value}</title>"
                       "</rect>")
        verdict = verdicts.get(nodeid, Verdict.STABLE)
        out.append(f'<text x="{verdict_x:.1f}" y="{y + CELL - 4:.1f}" '
                   f'fill="{VERDICT_COLOURS[verdict]}">{verdict.value}</text>')
    y = top + len(tests) * (CELL + GAP) + 20
    if left_out:
        out.append(f'<text x="10" y="{y:.1f}">… and {left_out} more tests</text>')
        y += LINE
    x = 10.0
    for outcome, colour in COLOURS.items():
        out.append(f'<circle cx="{x + 6:.1f}" cy="{y - 4:.1f}" r="6" fill="{colour}"/>')
        out.append(f'<text x="{x + 16:.1f}" y="{y:.1f}">{outcome.value}</text>')
        x += 16 + len(outcome.value) * CHAR + 18
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _title(report: SeedsReport) -> str:
    unstable = len(report.unstable)
    return (f"isoscan: {len(report.matrix.tests)} tests × {len(report.matrix.runs)} runs, "
            f"{unstable} unstable")


def html_page(report: SeedsReport) -> str:
    rows = []
    for finding in unstable_sorted(report):
        rows.append(f"<tr><td><code>{escape(finding.nodeid)}</code></td>"
                    f'<td style="color:{VERDICT_COLOURS[finding.verdict]}">'
                    f"{finding.verdict.value}</td>"
                    f"<td>{escape(blame_of(report, finding).text)}</td></tr>")
    table = ("<table><thead><tr><th>test</th><th>verdict</th><th>cause</th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>" if rows else "<p>No unstable tests.</p>")
    runs = "".join(f"<li>#{n} {escape(label)}</li>"
                   for n, label in enumerate(labels(report), start=1))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(_title(report))}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328}"
        "table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}"
        "svg{max-width:100%;height:auto}</style></head><body>\n"
        f"<h1>{escape(_title(report))}</h1>\n{table}\n{svg(report)}"
        f"<h2>Runs</h2><ol style=\"list-style:none;padding:0\">{runs}</ol>\n</body></html>\n"
    )


def write_svg(report: SeedsReport, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(svg(report), encoding="utf-8")


def write_html(report: SeedsReport, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html_page(report), encoding="utf-8")
