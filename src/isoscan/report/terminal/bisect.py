"""The terminal answer of ``isoscan bisect``."""

from __future__ import annotations

from rich.text import Text

from isoscan.console import console
from isoscan.model.answer import BisectKind, BisectResult


class StepPrinter:
    """Shows each step as it happens, with the number of trials (pytest runs) so far."""

    def step(self, trials: int, message: str) -> None:
        console.print(Text(f"[trial {trials:>3}] ", style="dim") + Text(message))

    def notice(self, message: str) -> None:
        console.print(f"note: {message}", style="yellow")


def render_bisect(result: BisectResult) -> None:
    console.print()
    head = Text(f"{result.victim}: ", style="bold")
    if result.kind is BisectKind.VICTIM:
        head.append("order-dependent victim", style="bold red")
    elif result.kind is BisectKind.BRITTLE:
        head.append("brittle (fails alone)", style="bold red")
    else:
        head.append(result.kind.value, style="yellow")
    console.print(head)
    for number, polluters in enumerate(result.polluters, start=1):
        label = "polluter" if len(polluters) == 1 else f"polluters (together, {len(polluters)})"
        if len(result.polluters) > 1:
            label += f" — independent set {number}"
        console.print(f"  {label}:")
        for nodeid in polluters:
            console.print(f"    {nodeid}", style="red")
    if result.state_setters:
        console.print("  state-setter(s):")
        for nodeid in result.state_setters:
            console.print(f"    {nodeid}", style="green")
    if result.cleaners:
        console.print("  cleaner(s), run between polluter and victim, make it pass:")
        for nodeid in result.cleaners:
            console.print(f"    {nodeid}", style="green")
    if result.kind is BisectKind.PARALLEL_ONLY and result.concurrent:
        console.print("  running on other workers when it failed:")
        for nodeid in result.concurrent:
            console.print(f"    {nodeid}")
    if result.left_out:
        console.print(f"  left out of trials (crashed or hung the process): "
                      f"{', '.join(result.left_out)}", style="yellow")
    if result.note:
        console.print(f"  {result.note}", style="dim")
    console.print(f"  order from: {result.source}", style="dim")
    console.print(f"  {result.trials} trials, {result.seconds:.1f}s", style="dim")
    if len(result.reproduce_all) > 1:
        console.print("Reproduce (one command per independent set):")
        for command in result.reproduce_all:
            console.print(f"  {command}", soft_wrap=True)
    elif result.reproduce:
        console.print("Reproduce:")
        console.print(f"  {result.reproduce}", soft_wrap=True)
