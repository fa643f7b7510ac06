"""Stable tests, including parametrize ids that are awkward to round-trip."""

from __future__ import annotations

import pytest

from demoapp.textutils import count_words, reverse, slugify, title_case


def test_slugify() -> None:
    assert slugify("Hello, World!") == "hello-world"


def test_title_case() -> None:
    assert title_case("the quick fox") == "The Quick Fox"


def test_reverse() -> None:
    assert reverse("abc") == "cba"


# Ids contain non-ASCII (escaped by pytest), "/", "::", "[...]" and spaces.
@pytest.mark.parametrize("text", ["héllo wörld", "a/b::c", "x[1]", "with space"])
def test_awkward_ids_reverse_twice(text: str) -> None:
    assert reverse(reverse(text)) == text


def test_count_words() -> None:
    assert count_words("one two  three") == 3
