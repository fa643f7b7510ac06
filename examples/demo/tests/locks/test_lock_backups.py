from __future__ import annotations

from pathlib import Path

from demoapp.locking import run_backup

# Shared with the export test in this folder; beside the suite so separate copies of the
# suite never contend with each other.
LOCK_FILE = Path(__file__).parent / "demo.lock"


def test_backup_holds_the_export_lock() -> None:
    # Waits for the lock and always passes; it only makes the export fail when the two run
    # at the same moment on two xdist workers.
    run_backup(LOCK_FILE)
