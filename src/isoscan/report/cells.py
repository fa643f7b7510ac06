"""One matrix cell per outcome: the character every report draws it with, and its terminal
style (the terminal grid, ``isoscan history`` and the Markdown matrix share them)."""

from __future__ import annotations

from isoscan.model.outcomes import Outcome

CELL = {
    Outcome.PASSED: (".", "green"),
    Outcome.FAILED: ("F", "bold red"),
    Outcome.ERROR: ("E", "bold red"),
    Outcome.SKIPPED: ("s", "yellow"),
    Outcome.NOT_RUN: ("-", "dim"),
    Outcome.CRASHED: ("C", "bold magenta"),
    Outcome.TIMEOUT: ("T", "bold magenta"),
    Outcome.TIMEOUT_EARLY: ("t", "magenta"),
}

# How a legend names a cell, where the outcome's own value says too little.
WORDS = {Outcome.NOT_RUN: "not run", Outcome.TIMEOUT_EARLY: "timeout, early"}


def legend_items() -> list[tuple[str, str, str]]:
    """(character, style, words) of every cell, in the order of ``Outcome``."""
    return [(*CELL[outcome], WORDS.get(outcome, outcome.value)) for outcome in Outcome]
