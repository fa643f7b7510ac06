"""The terminal answer of ``isoscan explain`` (ranked changes, each with its fix), and the latent
polluters of ``isoscan seeds --track-state``."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from isoscan.console import console
from isoscan.explain.latent import StateTrack
from isoscan.explain.workflow import Explanation
from isoscan.model.outcomes import Outcome

_KINDS_HELP = ("environment, cwd, umask, sys.path/modules/argv, recursion limit, socket timeout, "
               "time zone, locale, module globals, files, descriptors, sockets, threads, child "
               "processes, logging, warnings filters, signal handlers, asyncio policy")


def render_explanation(explanation: Explanation) -> None:
    """Lines are printed whole (soft wrap), so ids, keys and paths can be copied."""
    polluters = ", ".join(explanation.polluters)
    console.print()
    if not explanation.found:
        console.print(Text(f"No state change found after {polluters}.", style="bold yellow"),
                      soft_wrap=True)
        console.print(f"  Compared: {_KINDS_HELP}.", soft_wrap=True, style="dim")
        console.print("  If the tests share outside state (a database, a cache server), report "
                      "it from a pytest_isoscan_snapshot hook in conftest.py.", soft_wrap=True,
                      style="dim")
    else:
        head = Text("State left behind by ", style="bold")
        head.append(polluters, style="bold red")
        head.append(f", ranked by what {explanation.victim} touches:", style="bold")
        console.print(head, soft_wrap=True)
        width = len(str(len(explanation.changes)))
        for ranked in explanation.changes:
            console.print()
            line = Text(f"  {ranked.rank:>{width}}. ")
            line.append(ranked.line, style="bold" if ranked.where else "")
            console.print(line, soft_wrap=True)
            pad = " " * (width + 4)
            if ranked.reason:
                console.print(f"{pad}{ranked.reason}", style="cyan", soft_wrap=True)
            if ranked.hint:
                console.print(Text(f"{pad}fix: ", style="green") + Text(ranked.hint),
                              soft_wrap=True)
    if explanation.shared_fixture_changes:
        fixtures = sorted({f for f, _ in explanation.shared_fixture_changes})
        count = len(explanation.shared_fixture_changes)
        console.print(f"  Not listed: {count} change{'s' if count != 1 else ''} made by "
                      f"fixtures the victim uses too ({', '.join(fixtures)}).", style="dim",
                      soft_wrap=True)
    for note in explanation.notes:
        console.print(f"  note: {note}", style="yellow", soft_wrap=True)
    console.print()
    console.print(_footer(explanation), style="dim", soft_wrap=True)


def _footer(explanation: Explanation) -> str:
    count = len(explanation.changes)
    parts = [f"{count} change{'s' if count != 1 else ''}"]
    outcomes = [f"{o.value}" for o in explanation.outcomes.values()]
    if outcomes:
        label = "polluter" if len(outcomes) == 1 else "polluters"
        parts.append(f"{label} {'/'.join(outcomes)}")
    failed = [n for n, o in explanation.outcomes.items() if o is not Outcome.PASSED]
    if failed:
        parts.append("note: a polluter did not pass; it may have stopped before cleaning up")
    timings = explanation.timings
    if timings:
        parts.append(f"snapshots {timings.get('before', 0.0):.2f}s + "
                     f"{timings.get('after', 0.0):.2f}s")
    parts.append(f"{explanation.seconds:.1f}s")
    return ", ".join(parts)


LATENT_SHOWN = 5  # changes shown per latent polluter


def render_latent(track: StateTrack, saved: Path | None = None) -> None:
    """Listed apart from the verdicts: no victim had to fail for these."""
    console.print()
    count = len(track.polluters)
    if not count:
        console.print(f"State tracking: none of {track.tests} tests leaves process state changed.",
                      style="green", soft_wrap=True)
    else:
        console.print(Text(f"Latent polluters: {count} of {track.tests} tests leave state "
                           "changed (no victim had to fail):", style="bold yellow"),
                      soft_wrap=True)
    for polluter in track.polluters:
        console.print(f"  {polluter.nodeid}", style="yellow", soft_wrap=True)
        for ranked in polluter.changes[:LATENT_SHOWN]:
            console.print(f"    {ranked.line}", soft_wrap=True)
            if ranked.hint:
                console.print(Text("      fix: ", style="green") + Text(ranked.hint),
                              soft_wrap=True)
        if len(polluter.changes) > LATENT_SHOWN:
            console.print(f"    … and {len(polluter.changes) - LATENT_SHOWN} more", style="dim")
    if track.fixture_changes:
        fixtures = sorted({f for f, _, _ in track.fixture_changes})
        console.print(f"  Made by higher-scoped fixture setups, not listed above: "
                      f"{', '.join(fixtures)}.", style="dim", soft_wrap=True)
    tail = f"  snapshots {track.snapshot_seconds:.1f}s of {track.seconds:.1f}s"
    console.print(tail + (f"; details: {saved}" if saved else ""), style="dim", soft_wrap=True)
