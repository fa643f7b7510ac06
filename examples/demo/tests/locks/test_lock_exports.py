from __future__ import annotations

from pathlib import Path

from demoapp.locking import run_export

# Shared with the backup test in this folder; beside the suite so separate copies of the
# suite never contend with each other.
LOCK_FILE = Path(__file__).parent / "demo.lock"


def test_parallel_only_lock_exports() -> None:
    # Serially the backup has always released the lock; a backup on another xdist worker
    # holding it at this moment makes the export give up.
    run_export(LOCK_FILE)
