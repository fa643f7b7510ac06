from __future__ import annotations

import pytest

from demoapp import keys


# The second id is "na\xefve/key::1": non-ASCII, "/" and "::" in one id.
@pytest.mark.parametrize("key", ["plain", "naïve/key::1"])
def test_victim_key_is_available(key: str) -> None:
    # Only the "naïve/key::1" case is a victim: an earlier test reserves it.
    assert keys.is_available(key)
