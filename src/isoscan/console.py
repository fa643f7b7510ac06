"""The one rich Console, and the one way out with an error."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from rich.console import Console


class _Stream:
    """Forwards to the current sys.stdout or sys.stderr at each write, so the console follows
    redirections (and test capture) instead of keeping a stream that may be closed."""

    def __init__(self) -> None:
        self.use_stderr = False

    @property
    def target(self) -> TextIO:
        return sys.stderr if self.use_stderr else sys.stdout

    def write(self, text: str) -> int:
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


_stream = _Stream()
# Off a terminal (CI logs, pipes, text pasted into a bug report) rich would assume 80 columns
# and fold node ids mid-word; COLUMNS still wins when it is set.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
console = Console(file=_stream, markup=False, highlight=False, soft_wrap=False,  # type: ignore[arg-type]
                  width=_WIDTH)


def to_stderr() -> None:
    """Human output moves to stderr when machine output (``--json -``) takes stdout."""
    _stream.use_stderr = True


def to_stdout() -> None:
    _stream.use_stderr = False


def error_line(message: str, detail: str = "") -> None:
    """Errors always go to stderr: one line, then pytest's own words if there are any."""
    previous = _stream.use_stderr
    _stream.use_stderr = True
    try:
        console.print(f"isoscan: error: {message}", style="bold red", soft_wrap=True)
        if detail:
            console.print(detail, soft_wrap=True)
    finally:
        _stream.use_stderr = previous
