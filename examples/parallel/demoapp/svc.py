"""A tiny TCP service listening on a fixed port.

Bug source: every process uses the same port, so two xdist workers starting the service at
the same time collide (``EADDRINUSE``). Serially the port is always free again: the socket
is closed after each test and ``SO_REUSEADDR`` allows an immediate rebind.

The port is fixed for a given copy of this suite (derived from its folder), so separate
copies, e.g. the temporary copies isoscan's own tests make, do not collide with each other.
"""

from __future__ import annotations

import socket
import zlib
from pathlib import Path

HOST = "127.0.0.1"
# Below Linux's ephemeral range (32768-60999), so no outgoing connection is given it.
PORT = 20000 + zlib.crc32(str(Path(__file__).resolve().parent).encode()) % 10000


def start_server() -> socket.socket:
    """A listening server socket on HOST:PORT; OSError (EADDRINUSE) if the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, PORT))
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock
