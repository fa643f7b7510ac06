"""Import-time dependences on the terminal: the import that breaks each test, where it is, and
the two commands that show it (passes alone in its own module; fails with that module
collected too)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from isoscan.console import console
from isoscan.model.import_time import ImportDependence

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
    console.print(Text(f"Import-time dependences ({HEAD}):", style="bold"), soft_wrap=True)
    for group in groups.values():
        render_dependence([nodeid for nodeid, _ in group], group[0][1])


def render_dependence(nodeids: Sequence[str], dependence: ImportDependence) -> None:
    console.print()
    for nodeid in nodeids:
        console.print(Text(f"  {nodeid}", style="bold"), soft_wrap=True)
    console.print(Text(f"    {dependence.text}", style="red"), soft_wrap=True)
    for cause in dependence.headline_causes():
        console.print(f"    {cause.summary}", style="dim", soft_wrap=True)
        if cause.where:
            console.print(f"    through: {cause.where}", style="dim", soft_wrap=True)
        if cause.statement:
            console.print(f"    {cause.statement}", style="dim", soft_wrap=True)
        for call in cause.calls:
            console.print(f"      called: {call}", style="dim", soft_wrap=True)
        if cause.hint:
            console.print(Text("    fix: ", style="green") + Text(cause.hint), soft_wrap=True)
    if dependence.note:
        console.print(f"    {dependence.note}", style="dim", soft_wrap=True)
    # Both commands, one a line, whole: they are meant to be copied.
    if dependence.passes:
        console.print(f"    passes alone in its own module: {dependence.passes}",
                      soft_wrap=True)
    if dependence.fails:
        which = "that module" if len(dependence.modules) == 1 else "those modules"
        console.print(f"    fails with {which} collected too: {dependence.fails}",
                      soft_wrap=True)
    own = dependence.own_module
    if own is not None and own.found:
        # The second finding: an ordinary polluter that stays once the import is fixed.
        console.print(Text(f"    also, in its own-module frame, {own.text}", style="red"),
                      soft_wrap=True)
        if own.state:
            console.print(f"    it leaves: {own.state}", style="dim", soft_wrap=True)
        if own.fix:
            console.print(Text("    fix: ", style="green") + Text(own.fix), soft_wrap=True)
        for command in own.reproduce_all:
            console.print(f"    reproduce (fails): {command}", soft_wrap=True)
