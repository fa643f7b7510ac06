"""Import-time dependences on the terminal: the import that breaks each test, where it is, and
the two commands that show it (passes alone in its own module; fails with that module
collected too)."""

from __future__ import annotations

from collections.abc import Sequence

from isoscan.console import console
from isoscan.model.import_time import ImportDependence
from isoscan.report.terminal.ids import print_ids

HEAD = "passes alone in its own module, fails when other test modules are collected"


def render_import_time(cases: Sequence[tuple[str, ImportDependence]]) -> None:
    """One block per distinct dependence; tests that share one are listed together, and the
    commands shown are the first test's."""
    groups: dict[tuple[str, str], list[tuple[str, ImportDependence]]] = {}
    for nodeid, dependence in cases:
        own = dependence.own_module.text if dependence.own_module else ""
        groups.setdefault((dependence.text, own), []).append((nodeid, dependence))
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
        console.print(f"    {cause.summary}", style="dim", soft_wrap=True)
        if cause.where:
            console.print(f"    through: {cause.where}", style="dim", soft_wrap=True)
        if cause.statement:
            console.print(f"    {cause.statement}", style="dim", soft_wrap=True)
        for call in cause.calls:
            console.print(f"      called: {call}", style="dim", soft_wrap=True)
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
    own = dependence.own_module
    if own is not None and own.found:
        # The second finding: an ordinary polluter that stays once the import is fixed.
        print_ids(f"also, in its own-module frame, {own.text}", "    ", style="red")
        if own.state:
            print_ids(f"it leaves: {own.state}", "    ", style="dim")
        if own.fix:
            print_ids(f"fix: {own.fix}", "    ", style="green")
        for command in own.reproduce_all:
            _command("reproduce (fails):", command)


def _command(label: str, command: str) -> None:
    """``label command`` on one line where it fits, else the command on a line of its own."""
    line = f"    {label} {command}"
    if len(line) <= console.width:
        console.print(line, soft_wrap=True)
    else:
        console.print(f"    {label}")
        console.print(f"      {command}", soft_wrap=True)
