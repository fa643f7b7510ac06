from __future__ import annotations

from demoapp import plugins


def test_brittle_upper_plugin_available() -> None:
    # Never registers "upper" itself; only works if some other test did.
    assert plugins.run("upper", "abc") == "ABC"
