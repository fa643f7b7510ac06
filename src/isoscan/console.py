"""The one rich Console, and the one way out with an error."""

from __future__ import annotations

import sys

from rich.console import Console

console = Console(markup=False, highlight=False, soft_wrap=False)


def to_stderr() -> None:
    """Human output moves to stderr when machine output (``--json -``) takes stdout."""
    console.file = sys.stderr


def error_line(message: str, detail: str = "") -> None:
    """Errors always go to stderr: one line, then pytest's own words if there are any."""
    previous = console.file
    console.file = sys.stderr
    try:
        console.print(f"isoscan: error: {message}", style="bold red", soft_wrap=True)
        if detail:
            console.print(detail, soft_wrap=True)
    finally:
        console.file = previous
