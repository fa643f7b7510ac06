"""Lines that hold node ids, wrapped for the terminal without cutting an id mid-word.

A node id is often longer than the room left on an 80-column line, and rich folds such a word
wherever the line ends (``test_victim_hea`` / ``lth_check``). Here a line wraps at its spaces,
and an id too long for a line of its own breaks only after one of its separators (``::``, ``/``),
the rest indented under it.
"""

from __future__ import annotations

import re

from rich.text import Text

from isoscan.console import console

_SEPARATOR = re.compile(r"(?<=::)|(?<=/)")
HANG = "  "  # continuation lines: indented this much more than the first


def wrap_ids(text: str, width: int, indent: str = "") -> list[str]:
    """``indent`` + ``text`` as lines of at most ``width`` columns where possible: breaks at
    spaces, and inside a word only after ``::`` or ``/`` (a piece longer than a line stays
    whole)."""
    lines: list[str] = []
    line = indent
    for word in text.split(" "):
        room = width - len(indent) - len(HANG)
        pieces = [word] if len(word) <= room else [p for p in _SEPARATOR.split(word) if p]
        for n, piece in enumerate(pieces):
            sep = " " if n == 0 and line.strip() else ""
            if line.strip() and len(line) + len(sep) + len(piece) > width:
                lines.append(line)
                line = indent + HANG + piece
            else:
                line += sep + piece
    lines.append(line)
    return lines


def print_ids(text: str, indent: str = "", style: str | None = None) -> None:
    """Print ``text`` wrapped by ``wrap_ids`` at the console's width."""
    for line in wrap_ids(text, console.width, indent):
        console.print(Text(line, style=style or ""), soft_wrap=True)
