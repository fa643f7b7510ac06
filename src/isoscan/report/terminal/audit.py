"""The terminal answer of ``isoscan audit``: each confirmed collision as a parallel-only bisect
answer, the pairs that share a resource but never collided, and the per-resource table."""

from __future__ import annotations

from rich.table import Table

from isoscan.audit.model import AuditReport, PairStatus, ResourceRow
from isoscan.console import console
from isoscan.report.terminal.bisect import render_bisect
from isoscan.resources import describe_shared


def render_audit(report: AuditReport) -> None:
    for result in report.collisions:
        render_bisect(result)
    shared = [c for c in report.candidates if c.status is PairStatus.SHARED]
    unsettled = [c for c in report.candidates if c.status is PairStatus.UNSETTLED]
    untried = [c for c in report.candidates if c.status is PairStatus.NOT_TRIED]
    if shared:
        console.print()
        console.print(f"Shared, not seen to collide ({len(shared)} pairs; not findings):",
                      style="bold")
        for c in shared:
            console.print(f"  {c.first} × {c.second}: {describe_shared(c.shared[0])}")
    if unsettled:
        console.print()
        console.print(f"Failed beside each other once, not confirmed by the rule "
                      f"({len(unsettled)} pairs; not findings):", style="yellow")
        for c in unsettled:
            console.print(f"  {c.first} × {c.second}: {describe_shared(c.shared[0])}")
    if untried:
        console.print(f"{len(untried)} candidate pairs not replayed (past --pairs, or "
                      "interrupted)", style="yellow")
    if report.rows:
        console.print()
        console.print(_table(report.rows))
    console.print()
    found = len(report.collisions)
    head = (f"{found} collision{'s' if found != 1 else ''} confirmed" if found
            else "no collision confirmed")
    console.print(f"{head}; {len(report.candidates)} candidate pairs from "
                  f"{len(report.touched)} of {report.collected} tests that touch an outside "
                  f"resource; {report.trials} trials, {report.seconds:.1f}s "
                  f"({report.full_runs:.1f} full runs)",
                  style="bold red" if found else "bold green")
    if report.failed_serially:
        console.print(f"{len(report.failed_serially)} tests failed in the serial map run "
                      "(never blamed as victims here; see isoscan seeds)", style="yellow")


def _table(rows: list[ResourceRow]) -> Table:
    table = Table(title="Shared resources", show_lines=True)
    for column in ("resource", "write", "read", "leave data", "collided (victim ← culprit)"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.text, "\n".join(row.writers), "\n".join(row.readers),
                      "\n".join(row.leave_data),
                      "\n".join(f"{v} ← {c}" for v, c in row.collisions))
    return table
