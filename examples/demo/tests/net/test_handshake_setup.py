from __future__ import annotations

from demoapp import net


def test_polluter_requires_handshake() -> None:
    # Flips a process-wide switch that makes every later connect() block.
    net.require_handshake()
