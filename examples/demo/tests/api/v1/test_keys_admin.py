from __future__ import annotations

from demoapp import keys


def test_polluter_reserves_naive_key() -> None:
    # Reserves a key in the process-wide set and never releases it.
    keys.reserve("naïve/key::1")
    assert not keys.is_available("naïve/key::1")
