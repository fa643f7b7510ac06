from __future__ import annotations

from demoapp import plugins


def test_state_setter_registers_upper_plugin() -> None:
    # Registration as a side effect of a test: later tests come to rely on it.
    plugins.register("upper", str.upper)
    assert plugins.run("upper", "ok") == "OK"
