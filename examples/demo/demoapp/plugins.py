"""A plugin registry filled in by whoever imports/registers first.

Bug source: lookups assume registration already happened somewhere else.
"""

from __future__ import annotations

from typing import Callable

PLUGINS: dict[str, Callable[[str], str]] = {}


def register(name: str, fn: Callable[[str], str]) -> None:
    PLUGINS[name] = fn


def run(name: str, text: str) -> str:
    return PLUGINS[name](text)
