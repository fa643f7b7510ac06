from __future__ import annotations

from demoapp import features


def test_polluter_b_enables_beta() -> None:
    # Leaves the flag on; harmless unless "alpha" is also on.
    features.enable("beta")
    assert "beta" in features.ENABLED
