"""Amount parsing and formatting: no database, nothing shared."""

from __future__ import annotations

import time

import pytest

from pgapp.money import format_amount, parse_amount


def test_parse_whole_amount() -> None:
    time.sleep(0.05)
    assert parse_amount("7") == 700


def test_parse_cents() -> None:
    time.sleep(0.05)
    assert parse_amount("12.34") == 1234
    assert parse_amount("0.5") == 50


def test_parse_negative() -> None:
    time.sleep(0.1)
    assert parse_amount("-0.50") == -50


def test_parse_rejects_garbage() -> None:
    time.sleep(0.05)
    with pytest.raises(ValueError):
        parse_amount("12.345")
    with pytest.raises(ValueError):
        parse_amount("twelve")


def test_format_round_trip() -> None:
    time.sleep(0.1)
    for cents in (0, 5, 99, 100, 1234, -50, -100001):
        assert parse_amount(format_amount(cents)) == cents


def test_format_pads_cents() -> None:
    time.sleep(0.05)
    assert format_amount(5) == "0.05"
    assert format_amount(-5) == "-0.05"
