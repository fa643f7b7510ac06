"""Greeting whose style is configured through the environment."""

from __future__ import annotations

import os

STYLE_VAR = "DEMO_GREETING_STYLE"


def greet(name: str) -> str:
    # Read on every call, so a leaked env var changes behaviour for later tests.
    style = os.environ.get(STYLE_VAR, "plain")
    text = f"Hello, {name.strip()}"
    return text.upper() + "!" if style == "shout" else text
