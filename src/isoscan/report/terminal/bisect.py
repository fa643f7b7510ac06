"""The terminal answer of ``isoscan bisect``."""

from __future__ import annotations

from rich.text import Text

from isoscan.console import console
from isoscan.model.answer import BisectKind, BisectResult, Mechanism, ParallelAnswer
from isoscan.model.sweep import Sweep
from isoscan.report.terminal.import_time import HEAD, render_dependence


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
    elif result.kind is BisectKind.PARALLEL_ONLY and result.parallel is not None:
        head.append(_HEADS[result.parallel.mechanism], style="bold red")
    elif result.kind is BisectKind.BRITTLE:
        frame = "in its own module too" if result.alone_in_module else \
            "with the whole suite collected"
        head.append(f"brittle (fails alone, {frame})", style="bold red")
    elif result.kind is BisectKind.IMPORT_TIME:
        head.append(f"import-time ({HEAD})", style="bold red")
    else:
        head.append(result.kind.value, style="yellow")
    console.print(head)
    noun = "culprit" if result.parallel is not None else "polluter"
    for number, polluters in enumerate(result.polluters, start=1):
        label = noun if len(polluters) == 1 else f"{noun}s (together, {len(polluters)})"
        if len(result.polluters) > 1:
            label += f" — independent set {number}"
        console.print(f"  {label}:")
        for nodeid in polluters:
            where = result.parallel.workers.get(nodeid) if result.parallel else None
            console.print(Text(f"    {nodeid}", style="red")
                          + Text(f"  (ran on {where})" if where else "", style="dim"))
    if result.state_setters:
        console.print("  state-setter(s):")
        for nodeid in result.state_setters:
            console.print(f"    {nodeid}", style="green")
    if result.cleaners:
        console.print("  cleaner(s), run between polluter and victim, make it pass:")
        for nodeid in result.cleaners:
            console.print(f"    {nodeid}", style="green")
    if result.parallel is not None:
        _render_parallel(result.parallel)
    elif result.import_time is not None:
        render_dependence([], result.import_time)
    elif result.kind is BisectKind.PARALLEL_ONLY and result.concurrent:
        console.print(f"  {len(result.concurrent)} tests ran on other workers beside it; "
                      "none is blamed")
    if result.left_out:
        console.print(f"  left out of trials (crashed or hung the process): "
                      f"{', '.join(result.left_out)}", style="yellow")
    if result.note:
        console.print(f"  {result.note}", style="dim")
    if result.source:
        console.print(f"  order from: {result.source}", style="dim")
    check = result.parallel.confirmation if result.parallel is not None else None
    check = check or result.confirmation
    if check is not None:  # the stated rule's account (model/confidence.py)
        console.print(f"  rule: {check.summary()}", style="dim")
    console.print(f"  {result.trials} trials, {result.seconds:.1f}s", style="dim")
    if result.import_time is not None:
        return  # its two commands are shown with it
    if len(result.reproduce_all) > 1:
        console.print("Reproduce (one command per independent set):")
        for command in result.reproduce_all:
            console.print(f"  {command}", soft_wrap=True)
    elif result.parallel is not None and result.parallel.reproduced is not None:
        tally = result.parallel.reproduced
        console.print(f"Reproduce (runs them side by side; the victim failed in {tally.failed} "
                      f"of {tally.tries} of isoscan's replays):")
        console.print(f"  {result.reproduce}", soft_wrap=True)
    elif result.reproduce:
        console.print("Reproduce:")
        console.print(f"  {result.reproduce}", soft_wrap=True)


_HEADS = {
    Mechanism.LEFTOVER: "parallel-only: a test on another worker left state behind",
    Mechanism.COLLISION: "parallel-only: collides with a test on another worker",
}


def _render_parallel(answer: ParallelAnswer) -> None:
    if answer.shared:
        console.print("  what they share:")
        for shared in answer.shared:
            console.print(f"    {shared.text}", style="bold")
    else:
        console.print("  what they share: nothing isoscan could see (a C-level client such as "
                      "libpq bypasses audit hooks: declare it with a pytest_isoscan_resources "
                      "hook)", style="yellow")
    for hint in answer.hints:
        console.print(f"  fix: {hint}", style="green")
    if answer.checks:
        console.print("  isoscan's checks (concurrent replays):", style="dim")
        for check in answer.checks:
            console.print(f"    {check.what}: failed {check.failed} of {check.tries}",
                          style="dim")


def render_sweep(result: BisectResult, sweeps: list[Sweep], found: list[BisectResult]) -> None:
    """The polluter sweep after a verified answer: one line per polluter set, every victim it
    breaks under it (the bisected one first), and what the sweep cost."""
    for sweep in sweeps:
        victims = [*sweep.known, *sweep.victims]
        who = " + ".join(f"`{p}`" for p in sweep.polluters)
        line = f"{who} breaks {len(victims)} test{'' if len(victims) == 1 else 's'}"
        console.print()
        console.print(Text(f"{line} ({sweep.state})" if sweep.state else line, style="bold red"))
        for nodeid in victims:
            console.print(f"    {nodeid}", style="red")
        console.print(Text(f"  {sweep.describe()}", style="dim"))
    for pair in found[:1]:
        if pair.reproduce:
            console.print(Text(f"  reproduce a swept victim: {pair.reproduce}", style="dim"))
