"""Ctrl-C held back over a few statements that must happen together or not at all."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """A Ctrl-C (SIGINT) arriving inside the block is raised as ``KeyboardInterrupt`` once the
    block is done, not between two of its statements: storing a finished chunk and marking it
    stored happen both or neither, so an interrupt cannot store it twice. Only the main thread
    can hold SIGINT back; elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt
