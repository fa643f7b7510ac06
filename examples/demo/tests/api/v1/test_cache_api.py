from __future__ import annotations

from demoapp import cache


def test_victim_cache_starts_empty() -> None:
    # Assumes nothing else in the process has touched the global cache.
    assert cache.snapshot() == {}


def test_api_version_string() -> None:
    assert "v1".upper() == "V1"
