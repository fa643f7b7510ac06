"""Import-time dependences on the terminal: the import that breaks each test, where it is, and
the two commands that show it (passes alone in its own module; fails with that module
collected too)."""

from __future__ import annotations

from collections.abc import Sequence

from isoscan.console import console
from isoscan.model.imports import ImportDependence
from isoscan.report.terminal.ids import print_ids

HEAD = "passes alone in its own module, fails when other test modules are collected"


def render_import_time(cases: Sequence[tuple[str, ImportDependence]]) -> None:
    """One block per distinct dependence; tests that share one are listed together, and the
    commands shown are the first test's."""
    groups: dict[str, list[tuple[str, ImportDependence]]] = {}
    for nodeid, dependence in cases:
        groups.setdefault(dependence.text, []).append((nodeid, dependence))
    if not groups:
        return
    console.print()
    print_ids(f"Import-time dependences ({HEAD}):", style="bold")
    for group in groups.values():
        render_dependence([nodeid for nodeid, _ in group], group[0][1])


def render_dependence(nodeids: Sequence[str], dependence: ImportDependence) -> None:
    console.print()
    for nodeid in nodeids:
        print_ids(nodeid, "  ", style="bold")
    print_ids(dependence.text, "    ", style="red")
    for cause in dependence.headline_causes():
        if cause.statement:
            console.print(f"    {cause.statement}", style="dim", soft_wrap=True)
        if cause.hint:
            print_ids(f"fix: {cause.hint}", "    ", style="green")
    if dependence.note:
        print_ids(dependence.note, "    ", style="dim")
    # Both commands whole, never wrapped: they are meant to be copied.
    if dependence.passes:
        _command("passes alone in its own module:", dependence.passes)
    if dependence.fails:
        which = "that module" if len(dependence.modules) == 1 else "those modules"
        _command(f"fails with {which} collected too:", dependence.fails)


def _command(label: str, command: str) -> None:
    """``label command`` on one line where it fits, else the command on a line of its own."""
    line = f"    {label} {command}"
    if len(line) <= console.width:
        console.print(line, soft_wrap=True)
    else:
        console.print(f"    {label}")
        console.print(f"      {command}", soft_wrap=True)
