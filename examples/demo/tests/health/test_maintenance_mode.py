from __future__ import annotations

from demoapp import health


def test_polluter_enters_maintenance_mode() -> None:
    # Turns maintenance mode on for the rest of the process.
    health.enter_maintenance()
