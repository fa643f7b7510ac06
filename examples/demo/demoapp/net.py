"""A client that may wait for a server handshake.

Bug source: once ``require_handshake`` is called, ``connect`` blocks on an
event that no code in the process ever sets, so it waits forever.
"""

from __future__ import annotations

import threading

_handshake_required = False
_handshake_done = threading.Event()


def require_handshake() -> None:
    global _handshake_required
    _handshake_required = True


def connect() -> str:
    if _handshake_required:
        _handshake_done.wait()  # no timeout: hangs forever
    return "connected"
