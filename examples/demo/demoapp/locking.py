"""Exclusive, non-blocking file lock held for a while."""

from __future__ import annotations

import fcntl
import time
from pathlib import Path

# Long enough that two xdist workers reaching the lock tests at about the same time collide;
# serially the lock is always free whatever the duration.
HOLD_SECONDS = 0.4


def hold_exclusive_lock(path: Path, seconds: float) -> None:
    """Raise BlockingIOError if another process already holds the lock.

    flock is released when the file is closed or the process dies, so a
    crashed worker never leaves a stale lock behind.
    """
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            time.sleep(seconds)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
