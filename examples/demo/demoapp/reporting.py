"""Report formatting with a process-wide output format.

Bug source for the import-time test: ``FORMAT`` is a module global that any importer may
change, and a test module that sets it at import time changes it for every test collected in
the same session, before any of them runs.
"""

from __future__ import annotations

FORMAT = "csv"


def render(rows: list[tuple[str, int]]) -> str:
    if FORMAT == "csv":
        return "\n".join(f"{name},{count}" for name, count in rows)
    return "\n".join(f"{name}\t{count}" for name, count in rows)
