"""The tracker collecting right now, as the driver captures see it: they record into it and
never import the tracker itself (``audit.py`` installs them), so the two stay one-way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol

from .model import Access, Resource, ResourceKind

# What a driver capture checks when the test ends (a row count, whether a key still exists):
# called with tracking already off, so its own queries are not the test's.
AtStop = Callable[[], Iterable[Resource]]


class Collector(Protocol):
    """What a capture may do with the running test's tracker."""

    def add(self, kind: ResourceKind, name: str, access: Access, label: str = "") -> None: ...
    def at_stop(self, key: object, check: AtStop) -> None: ...
    def wants_check(self, key: object) -> bool: ...


class _Active:
    """One slot, read by the audit hook on every event: an attribute, not a call."""

    tracker: Collector | None = None


ACTIVE = _Active()


def current() -> Collector | None:
    """The tracker collecting right now, if any."""
    return ACTIVE.tracker


@contextmanager
def muted() -> Iterator[None]:
    """Nothing is recorded inside: isoscan's own look at a database or server (a row count)
    is not the test's."""
    held, ACTIVE.tracker = ACTIVE.tracker, None
    try:
        yield
    finally:
        ACTIVE.tracker = held


def watch_leftovers(tracker: Collector, key: object, measure: Callable[[], object],
                    left: Callable[[object, object], Resource | None]) -> None:
    """What a test leaves in a server (rows, keys): ``measure`` before its first write and
    again when it ends, both muted so isoscan's own look is not the test's; ``left(before,
    after)`` says what stayed. Once per ``key`` and test."""
    if not tracker.wants_check(key):
        return
    with muted():
        before = measure()

    def check() -> Iterable[Resource]:
        with muted():
            after = measure()
        found = left(before, after)
        return [found] if found is not None else []

    tracker.at_stop(key, check)
