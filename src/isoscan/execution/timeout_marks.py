"""The pytest side of per-test timeouts (``timeouts.py``): each listed test gets a
``pytest.mark.timeout`` mark of its own, which pytest-timeout reads when the test starts.

Loaded into pytest processes (``--isoscan-timeouts FILE``) and into fork-server children, so it
imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pytest


class TimeoutMarks:
    """Marks the listed items once collection is done (after any reordering plugin)."""

    def __init__(self, seconds: Mapping[str, float]) -> None:
        self.seconds = seconds

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        apply_timeouts(items, self.seconds)


def apply_timeouts(items: Iterable[pytest.Item], seconds: Mapping[str, float]) -> None:
    """In front of any mark of the test's own: pytest-timeout reads the closest one."""
    for item in items:
        limit = seconds.get(item.nodeid)
        if limit is not None:
            item.add_marker(pytest.mark.timeout(limit), append=False)
