"""State shared by every process running this copy of the suite.

Bug source for the parallel-only tests: everything here lives at a fixed path beside the
suite (``.demo-shared/``), not in a per-process temporary folder, so all xdist workers of a
run use the same files at the same time. Separate copies of the suite do not share it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SHARED_DIR = Path(__file__).resolve().parent.parent / ".demo-shared"

# Seconds a connection waits for another process's write lock before "database is locked".
BUSY_TIMEOUT = 10.0


def shared_dir() -> Path:
    """The shared folder, created on demand (safe when two workers create it at once)."""
    if not SHARED_DIR.is_dir():  # only the first test creates it, not every test
        SHARED_DIR.mkdir(parents=True, exist_ok=True)
    return SHARED_DIR


def connect(name: str, schema: str) -> sqlite3.Connection:
    """A connection to the shared database ``name``, its table created if missing.

    ``CREATE TABLE IF NOT EXISTS`` is idempotent, and the busy timeout makes a second worker
    creating the file or the table at the same moment wait instead of failing.
    """
    conn = sqlite3.connect(shared_dir() / name, timeout=BUSY_TIMEOUT)  # the busy timeout
    conn.execute(schema)
    conn.commit()
    return conn
