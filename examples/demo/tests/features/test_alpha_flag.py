from __future__ import annotations

from demoapp import features


def test_polluter_a_enables_alpha() -> None:
    # Leaves the flag on; harmless unless "beta" is also on.
    features.enable("alpha")
    assert "alpha" in features.ENABLED
