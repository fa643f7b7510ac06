"""Where a forked child's output goes: its own log instead of the server's descriptors (the
server's stdout, stderr and any descriptor a plugin holds open on them), and the line stream
an ``alone`` request's children write their events into."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from isoscan.trials.fork.protocol import CHILD_INDEX, write_all


class ChildLines:
    """The Recorder's stream in a child of an ``alone`` request (the part of a text file it
    uses): each event line it writes is tagged with the child's index and appended to the
    request's ``child_events`` file in one ``write``, so the lines of children running side
    by side never mix. Closing it leaves the descriptor, the server's, open."""

    def __init__(self, fd: int, index: int) -> None:
        self.fd = fd
        self.tag = f'{{"{CHILD_INDEX}": {index}, '

    def write(self, text: str) -> int:
        line = self.tag + text[1:] if text.startswith("{") else text
        write_all(self.fd, line.encode("utf-8"))
        return len(text)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def redirect_output(log: Path) -> None:
    """Points every descriptor that wrote to the server's output at this trial's log: stdout,
    stderr, and the copies of them that pytest's capture and faulthandler keep."""
    redirect_to(log, output_fds())


def output_fds() -> tuple[int, ...]:
    """The descriptors that write where stdout or stderr do: those ``redirect_output`` points
    at a log. Listed once by the server for an ``alone`` request: every child inherits them."""
    server = _identities((1, 2))
    return tuple(fd for fd in _open_fds() if _identities((fd,)) & server)


def redirect_to(log: Path, fds: tuple[int, ...]) -> None:
    """Points ``fds`` (listed by ``output_fds``) at ``log``."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for target in fds:
            if target != fd:
                os.dup2(fd, target)
    finally:
        os.close(fd)


def _identities(fds: tuple[int, ...]) -> set[tuple[int, int]]:
    found = set()
    for fd in fds:
        with contextlib.suppress(OSError):
            stat = os.fstat(fd)
            found.add((stat.st_dev, stat.st_ino))
    return found


def _open_fds() -> list[int]:
    for listing in ("/proc/self/fd", "/dev/fd"):
        with contextlib.suppress(OSError):
            return sorted(int(name) for name in os.listdir(listing) if name.isdigit())
    return [1, 2]


def flush_all() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
