from __future__ import annotations

from demoapp import i18n


def test_polluter_switches_locale_to_fr() -> None:
    # Switches the process-wide locale and does not switch it back.
    i18n.set_locale("fr")
    assert i18n.format_price(3.5) == "3,50 €"
