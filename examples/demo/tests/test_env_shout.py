from __future__ import annotations

import os

from demoapp import greeting


def test_polluter_sets_shout_style_env() -> None:
    # Sets the env var directly instead of via monkeypatch, so it leaks.
    os.environ[greeting.STYLE_VAR] = "shout"
    assert greeting.greet("bob") == "HELLO, BOB!"
