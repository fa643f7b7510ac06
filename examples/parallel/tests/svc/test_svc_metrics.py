from __future__ import annotations

import time

from demoapp import svc

HOLD_SECONDS = 0.6


def test_metrics_server_starts() -> None:
    # Binds the service's fixed port and serves for a while. Serially the port is free
    # again after each test; a test on another xdist worker holding it at the same time
    # makes bind fail with EADDRINUSE.
    server = svc.start_server()
    try:
        time.sleep(HOLD_SECONDS)
        assert server.getsockname() == (svc.HOST, svc.PORT)
    finally:
        server.close()
