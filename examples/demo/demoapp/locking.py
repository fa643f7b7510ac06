"""The export lock: one file lock that the nightly backup and the export both take.

Bug source for the parallel-only test: the lock file sits at a fixed path beside the suite, so
every xdist worker of a run shares it. Serially the backup has always released it before the
export looks; on another worker at the same moment it has not.
"""

from __future__ import annotations

import fcntl
import time
from pathlib import Path

# The backup holds the lock this long. Under xdist the export catches it when the two start
# within a few tenths of a second of each other on two workers (as the demo's runs show, the
# export that fails starts 0.05-0.15 s after the backup); a longer hold catches no more of
# them, and every serial run, replay and sweep that runs the backup waits for it.
BACKUP_SECONDS = 0.6
# The export retries this long before it gives up.
EXPORT_PATIENCE = 0.2


def run_backup(path: Path) -> None:
    """Wait for the lock, then hold it for the whole backup."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            time.sleep(BACKUP_SECONDS)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_export(path: Path) -> None:
    """Take the lock without waiting for a backup: raise BlockingIOError if it stays taken.

    flock is released when the file is closed or the process dies, so a crashed worker never
    leaves a stale lock behind.
    """
    deadline = time.monotonic() + EXPORT_PATIENCE
    with open(path, "a") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        fcntl.flock(fh, fcntl.LOCK_UN)
