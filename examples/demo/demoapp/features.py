"""Feature flags kept in a module-level set.

Bug source: flags are never reset, and only the *combination* of two flags
changes behaviour.
"""

from __future__ import annotations

ENABLED: set[str] = set()


def enable(flag: str) -> None:
    ENABLED.add(flag)


def checkout_pipeline() -> str:
    return "turbo" if {"alpha", "beta"} <= ENABLED else "classic"
