from __future__ import annotations

from demoapp import health


def test_victim_health_check_crashes_in_maintenance() -> None:
    # Calls os._exit(3), killing the whole pytest process, if an earlier
    # test left maintenance mode on.
    assert health.check() == "ok"
