"""Amounts as text and back; no database here."""

from __future__ import annotations


def parse_amount(text: str) -> int:
    """'12.34' -> 1234 cents; '-0.5' -> -50; '7' -> 700."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("+-").partition(".")
    if not whole.isdigit() and not (whole == "" and frac.isdigit()):
        raise ValueError(f"not an amount: {text!r}")
    if len(frac) > 2 or (frac and not frac.isdigit()):
        raise ValueError(f"not an amount: {text!r}")
    return sign * (int(whole or "0") * 100 + int(frac.ljust(2, "0") or "0"))


def format_amount(cents: int) -> str:
    """1234 -> '12.34'; -50 -> '-0.50'."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"
