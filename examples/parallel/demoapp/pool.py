"""A pool of "collections" (folders under ``.demo-shared/pool/``) handed out round-robin.

Bug source: the round-robin counter is per process and starts at 0, while the collections
are shared by every process. Serially each caller gets the next collection; two xdist
workers asking at about the same time both get ``c0``.
"""

from __future__ import annotations

from pathlib import Path

from demoapp.shared import shared_dir

COLLECTIONS = ("c0", "c1", "c2", "c3")

_next = 0


def acquire() -> Path:
    """The next collection's folder, created on demand."""
    global _next
    name = COLLECTIONS[_next % len(COLLECTIONS)]
    _next += 1
    path = shared_dir() / "pool" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
