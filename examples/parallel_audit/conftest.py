"""Shared outside state for the audit example: one SQLite file, one HTTP service on a fixed
port, one Redis server, one round-robin pool of directory names. Nothing here tells isoscan
what a test touches: `isoscan audit` sees it at the drivers."""

from __future__ import annotations

import itertools
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent / ".audit-shared"
SERVICE_PORT = int(os.environ.get("AUDIT_EXAMPLE_SERVICE_PORT", "18571"))
REDIS_ENV = "ISOSCAN_TEST_REDIS_URL"
NO_REDIS = f"no Redis server: {REDIS_ENV} is not set (.ci/run starts one)"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    SHARED.mkdir(exist_ok=True)
    return SHARED


# --- an HTTP service every worker shares (the first process to need it starts it) ----------

class _Items(BaseHTTPRequestHandler):
    items: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._reply(json.dumps(_Items.items))

    def do_POST(self) -> None:  # noqa: N802
        if self.path == "/reset":
            _Items.items = []
        else:
            length = int(self.headers.get("Content-Length", 0))
            _Items.items = [*_Items.items, self.rfile.read(length).decode()]
        self._reply("ok")

    def _reply(self, body: str) -> None:
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def service() -> Iterator[str]:
    try:
        server = ThreadingHTTPServer(("127.0.0.1", SERVICE_PORT), _Items)
    except OSError:
        server = None  # another process serves it already
    if server is not None:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{SERVICE_PORT}"
    if server is not None:
        server.shutdown()
        server.server_close()


# --- a round-robin pool of names, handed out per module ------------------------------------

POOL = ["pool-a", "pool-b"]
_next = itertools.count()


@pytest.fixture(scope="module")
def pool_name() -> str:
    # Round robin over a pool smaller than the number of workers: every process starts at
    # the first name, so two workers get the same one.
    return POOL[next(_next) % len(POOL)]


# --- Redis ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_client():  # type: ignore[no-untyped-def]
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(NO_REDIS)
    import redis

    return redis.Redis.from_url(url)


@pytest.fixture
def flushed(redis_client):  # type: ignore[no-untyped-def]
    redis_client.flushall()  # every test starts from an empty server
    return redis_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
