"""Reserved-key set shared by the whole process."""

from __future__ import annotations

RESERVED: set[str] = {"admin"}


def reserve(key: str) -> None:
    RESERVED.add(key)


def is_available(key: str) -> bool:
    return key not in RESERVED
