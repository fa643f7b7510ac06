"""The audit table and its collisions as Markdown (``isoscan audit --markdown FILE``)."""

from __future__ import annotations

from isoscan.audit.model import AuditReport
from isoscan.report.writers.audit_text import TABLE_HEAD, collisions, shared_not_seen, summary


def _cell(items: list[str]) -> str:
    return "<br>".join(f"`{item}`" for item in items).replace("|", "\\|")


def audit_markdown(report: AuditReport) -> str:
    counts, found = summary(report)
    lines = ["# isoscan audit", "", f"{counts}**{found}**.", ""]
    confirmed = collisions(report)
    if confirmed:
        lines += ["## Collisions", ""]
        for c in confirmed:
            lines.append(f"- **victim** `{c.victim}` — **culprit** `{c.culprit}`")
            lines += [f"  - {detail}" for detail in c.details]
            if c.replay:
                lines.append(f"  - replay: `{c.replay}`")
        lines.append("")
    lines += ["## Shared resources", "", "| " + " | ".join(TABLE_HEAD) + " |",
              "|---" * len(TABLE_HEAD) + "|"]
    for row in report.rows:
        collided = "<br>".join(f"`{v}` ← `{c}`" for v, c in row.collisions)
        text = row.text.replace("|", "\\|")
        lines.append(f"| {text} | {_cell(row.writers)} | "
                     f"{_cell(row.readers)} | {_cell(row.leave_data)} | {collided} |")
    shared = shared_not_seen(report)
    if shared:
        lines += ["", "## Shared, not seen to collide", ""]
        lines += [f"- `{first}` × `{second}`: {what}" for first, second, what in shared]
    return "\n".join(lines) + "\n"
