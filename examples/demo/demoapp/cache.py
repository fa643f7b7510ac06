"""A process-wide cache.

Bug source: ``CACHE`` is a module-level dict that nothing ever clears.
"""

from __future__ import annotations

CACHE: dict[str, str] = {}


def remember(key: str, value: str) -> None:
    CACHE[key] = value


def snapshot() -> dict[str, str]:
    return dict(CACHE)
