from __future__ import annotations

from demoapp import net


def test_victim_connect_hangs_after_handshake_required() -> None:
    # Blocks forever on a handshake event if an earlier test required one.
    assert net.connect() == "connected"
