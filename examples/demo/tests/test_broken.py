from __future__ import annotations

from demoapp.mathutils import add


def test_broken_always_fails() -> None:
    # The expectation itself is wrong, so this fails in every order.
    assert add(2, 2) == 5
