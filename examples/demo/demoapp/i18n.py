"""Current locale as a module global.

Bug source: ``set_locale`` changes it for the whole process.
"""

from __future__ import annotations

DEFAULT_LOCALE = "en"
_current = DEFAULT_LOCALE


def set_locale(locale: str) -> None:
    global _current
    _current = locale


def reset_locale() -> None:
    set_locale(DEFAULT_LOCALE)


def current_locale() -> str:
    return _current


def format_price(amount: float) -> str:
    if _current == "fr":
        return f"{amount:.2f} €".replace(".", ",")
    return f"${amount:.2f}"
