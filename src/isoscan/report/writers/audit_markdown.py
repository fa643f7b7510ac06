"""The audit table and its collisions as Markdown (``isoscan audit --markdown FILE``)."""

from __future__ import annotations

from isoscan.audit.model import AuditReport, PairStatus
from isoscan.resources import describe_shared


def _cell(items: list[str]) -> str:
    return "<br>".join(f"`{item}`" for item in items).replace("|", "\\|")


def audit_markdown(report: AuditReport) -> str:
    lines = ["# isoscan audit", ""]
    lines.append(f"{report.collected} tests, {len(report.touched)} touch an outside resource; "
                 f"{len(report.candidates)} candidate pairs; "
                 f"**{len(report.collisions)} collisions confirmed**.")
    lines.append("")
    if report.collisions:
        lines += ["## Collisions", ""]
        for result in report.collisions:
            answer = result.parallel
            culprit = result.polluters[0][0] if result.polluters else "?"
            lines.append(f"- **victim** `{result.victim}` — **culprit** `{culprit}`")
            if answer is not None:
                lines.append(f"  - mechanism: {answer.mechanism.value}")
                lines += [f"  - {shared.text}" for shared in answer.shared]
                lines += [f"  - fix: {hint}" for hint in answer.hints]
            lines.append(f"  - {result.note}")
            if result.reproduce:
                lines.append(f"  - replay: `{result.reproduce}`")
        lines.append("")
    lines += ["## Shared resources", "",
              "| resource | write | read | leave data | collided (victim ← culprit) |",
              "|---|---|---|---|---|"]
    for row in report.rows:
        collided = "<br>".join(f"`{v}` ← `{c}`" for v, c in row.collisions)
        text = row.text.replace("|", "\\|")
        lines.append(f"| {text} | {_cell(row.writers)} | "
                     f"{_cell(row.readers)} | {_cell(row.leave_data)} | {collided} |")
    shared = [c for c in report.candidates if c.status is PairStatus.SHARED]
    if shared:
        lines += ["", "## Shared, not seen to collide", ""]
        lines += [f"- `{c.first}` × `{c.second}`: {describe_shared(c.shared[0])}"
                  for c in shared]
    return "\n".join(lines) + "\n"
