from __future__ import annotations

from pathlib import Path

from demoapp.locking import HOLD_SECONDS, hold_exclusive_lock

# Shared with the other tests in this folder; beside the suite so separate
# copies of the suite never contend with each other.
LOCK_FILE = Path(__file__).parent / "demo.lock"


def test_parallel_only_lock_exports() -> None:
    # Serially the lock is always free; two xdist workers running the lock
    # tests at the same time make the non-blocking flock fail.
    hold_exclusive_lock(LOCK_FILE, HOLD_SECONDS)
