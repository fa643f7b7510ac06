from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytest_plugins = ["pytester"]

ACCEPTANCE = Path(__file__).parent / "acceptance"

# Under `pytest -n 2` (make test) this process is an xdist worker: the pytest runs isoscan starts
# from here must not believe they are workers too, nor take this run's PYTEST_ADDOPTS (already
# read by now). Module-scoped fixtures run before the function-scoped one below, hence here too.
for _name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID",
              "PYTEST_ADDOPTS"):
    os.environ.pop(_name, None)
# xdist workers run with COLUMNS=80, and isoscan's console takes its width when first imported.
os.environ["COLUMNS"] = "200"
# xdist workers ignore SIGINT, and a child inherits an ignored signal: the Ctrl-C tests' isoscan
# processes would never hear theirs.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything in tests/acceptance/ is an end-to-end run of the isoscan command.
    for item in items:
        if item.path.is_relative_to(ACCEPTANCE):
            item.add_marker(pytest.mark.acceptance)


@pytest.fixture(autouse=True)
def _plain_output(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stable, uncoloured, wide-enough output for assertions on what isoscan prints.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    from isoscan.console import console

    monkeypatch.setattr(console, "width", 200)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    os.environ.pop("PYTEST_XDIST_WORKER", None)


# `make test` runs the `timing` tests in a pytest process of their own beside the rest, so two
# tests that use one server's fixed tables or flush one whole Redis could meet: each such test
# gets a database, or a Redis server, of its own.
NO_PG = "no PostgreSQL server: ISOSCAN_TEST_PG_DSN is not set (.ci/run starts one)"
NO_REDIS = "no Redis server: ISOSCAN_TEST_REDIS_URL is not set (.ci/run starts one)"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """The DSN of a new, empty database on the server of ISOSCAN_TEST_PG_DSN, dropped after."""
    base = os.environ.get("ISOSCAN_TEST_PG_DSN")
    if not base:
        pytest.skip(NO_PG)
    import psycopg

    name = f"isoscan_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(base)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server of this test's own; skips when ISOSCAN_TEST_REDIS_URL is not set."""
    shared = os.environ.get("ISOSCAN_TEST_REDIS_URL")
    if not shared:
        pytest.skip(NO_REDIS)
    with _own_redis(shared, tmp_path_factory) as url:
        yield url


@pytest.fixture
def redis_url_if_any(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """As redis_url, but None instead of a skip, for a test with a part that needs no Redis."""
    shared = os.environ.get("ISOSCAN_TEST_REDIS_URL")
    if not shared:
        yield None
        return
    with _own_redis(shared, tmp_path_factory) as url:
        yield url


@contextmanager
def _own_redis(shared: str, temp: pytest.TempPathFactory) -> Iterator[str]:
    """redis-server on a free port, no persistence, stopped after; the shared server if
    redis-server is not on PATH here (a developer's Redis elsewhere)."""
    program = shutil.which("redis-server")
    if program is None:
        yield shared
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = subprocess.Popen(
        [program, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly",
         "no", "--dir", str(temp.mktemp("redis"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_pong(port, server)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for_pong(port: int, server: subprocess.Popen[bytes]) -> None:
    # Polls for readiness (a bounded wait for the server to answer), not a sleep standing in for it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"redis-server on port {port} exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail(f"redis-server on port {port} did not answer PING within 10 s")
