from __future__ import annotations

from demoapp import cache


def test_polluter_warms_cache() -> None:
    # Warms the process-wide cache and never clears it.
    cache.remember("greeting", "hi")
    assert cache.snapshot()["greeting"] == "hi"
