from __future__ import annotations

from demoapp import i18n


def test_cleaner_reset_locale_is_english() -> None:
    # Side effect: restores the default locale, undoing any earlier switch.
    i18n.reset_locale()
    assert i18n.current_locale() == "en"
