"""The ``Exit codes:`` block at the end of every command's ``--help``: each command says what
0 and 1 mean for it; the lines for 2, 3 and 130 are shared."""

from __future__ import annotations

from isoscan.errors import ExitCode

USAGE = "usage error: unknown option, bad value, path not found"
USAGE_IDS = "usage error (an id that was not collected gets the closest ids as hints)"
SUITE = "the suite could not run: collection error, no tests, pytest internal error"
NOTHING_READABLE = "nothing readable: no store or finished session, no readable JUnit XML"
INTERRUPTED = "interrupted (Ctrl-C)"

_WIDTH = 5  # "130" and two spaces: every meaning starts in the same column


def exit_codes_help(ok: str, found: str | None = None, *, usage: str = USAGE,
                    cannot_run: str = SUITE, kept: str | None = None,
                    interruptible: bool = True) -> str:
    """The block for a command where 0 means ``ok`` and 1 ``found`` (None: the command never
    exits 1). ``kept``: what an interrupt keeps, added to the 130 line; commands that run no
    tests (``interruptible=False``) have none. A ``\\n`` in a meaning continues it on the
    next line, under its first."""
    lines: list[tuple[ExitCode, str]] = [(ExitCode.OK, ok)]
    if found is not None:
        lines.append((ExitCode.ATTENTION, found))
    lines += [(ExitCode.USAGE, usage), (ExitCode.SUITE, cannot_run)]
    if interruptible:
        lines.append((ExitCode.INTERRUPTED, f"{INTERRUPTED}; {kept}" if kept else INTERRUPTED))
    block = ["\b", "Exit codes:"]
    for code, meaning in lines:
        first, *rest = meaning.split("\n")
        block.append(f"  {int(code):<{_WIDTH}}{first}")
        block += [" " * (2 + _WIDTH) + line for line in rest]
    return "\n".join(block) + "\n"
