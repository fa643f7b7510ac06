"""Writing every requested output of a report in one place (``seeds`` and ``report`` share it)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from isoscan.errors import UsageError
from isoscan.model.report import SeedsReport
from isoscan.report.baseline import Gate
from isoscan.report.writers import json_out, junit_out, markdown_out, matrix_svg

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


@dataclass(frozen=True)
class Targets:
    json: str | None = None  # a path, or "-" for stdout
    junit_xml: Path | None = None
    markdown: Path | None = None
    svg: Path | None = None
    html: Path | None = None

    @property
    def any(self) -> bool:
        return any((self.json, self.junit_xml, self.markdown, self.svg, self.html))


def step_summary(environ: Mapping[str, str] | None = None) -> Path | None:
    """GitHub Actions' job summary file, when running there."""
    value = (os.environ if environ is None else environ).get(STEP_SUMMARY, "")
    return Path(value) if value.strip() else None


def write_outputs(report: SeedsReport, gate: Gate, targets: Targets,
                  summary: Path | None = None) -> list[str]:
    """Write each requested file (and append to the step summary); the paths written."""
    jobs: list[tuple[str, Callable[[], None]]] = []
    if targets.json:
        jobs.append((targets.json, lambda: json_out.write(report, gate, str(targets.json))))
    if targets.junit_xml:
        path = targets.junit_xml
        jobs.append((str(path), lambda: junit_out.write(report, gate, path)))
    if targets.markdown:
        md = targets.markdown
        jobs.append((str(md), lambda: markdown_out.write(report, gate, md)))
    if targets.svg:
        picture = targets.svg
        jobs.append((str(picture), lambda: matrix_svg.write_svg(report, picture)))
    if targets.html:
        page = targets.html
        jobs.append((str(page), lambda: matrix_svg.write_html(report, page)))
    if summary is not None:
        jobs.append((str(summary), lambda: markdown_out.write(report, gate, summary, append=True)))
    written = []
    for name, job in jobs:
        try:
            job()
        except OSError as exc:
            raise UsageError(f"cannot write {name}: {exc.strerror or exc}") from None
        written.append(name)
    return written
