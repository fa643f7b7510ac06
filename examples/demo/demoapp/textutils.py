"""Pure string helpers: no shared state, used by the stable tests."""

from __future__ import annotations

import re


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def title_case(text: str) -> str:
    return " ".join(word.capitalize() for word in text.split())


def reverse(text: str) -> str:
    return text[::-1]


def count_words(text: str) -> int:
    return len(text.split())
