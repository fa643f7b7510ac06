from __future__ import annotations

from demoapp import i18n


def test_victim_price_in_dollars() -> None:
    # Assumes the default locale is still active.
    assert i18n.format_price(3.5) == "$3.50"
