"""Fork trials run each trial as a whole pytest session of the suite's own: session hooks that
keep state between sessions (a crash flag in ``config.cache``, a schema created at session
start and dropped at its finish) give the verdicts a fresh pytest per trial gives; a suite
whose session hooks cannot run in a fork is run in subprocesses, said once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from suitegen import read_json, run_cli, write

VICTIM = "tests/test_a.py::test_victim"
PAIR = {
    "tests/test_a.py": """
        import state

        def test_polluter():
            state.FLAGS["polluted"] = True

        def test_victim():
            assert "polluted" not in state.FLAGS

        def test_bystander():
            assert True
    """,
}

# As a real project's conftest: refuse to run after a session that crashed (its flag was
# never cleared), kept in pytest's cache across sessions.
CRASH_FLAG = """
    import pytest

    def pytest_sessionstart(session):
        cache = session.config.cache
        if cache.get("suite/crashed", False):
            pytest.exit("the last session crashed; clear the flag first", returncode=3)
        cache.set("suite/crashed", True)

    def pytest_sessionfinish(session, exitstatus):
        session.config.cache.set("suite/crashed", False)
"""

# A schema created once per worker (one SQLite file per xdist worker): the tables at session
# start, dropped at session finish (CREATE fails if a session before did not drop them), and
# a session-scoped fixture that connects once. The polluter leaves a row behind.
SCHEMA = {
    "tests/conftest.py": """
        import os
        import sqlite3

        import pytest

        def _path(config):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "master")
            return config.rootpath / f"schema-{worker}.sqlite"

        def pytest_sessionstart(session):
            with sqlite3.connect(_path(session.config)) as db:
                db.execute("CREATE TABLE items (name TEXT)")

        def pytest_sessionfinish(session, exitstatus):
            with sqlite3.connect(_path(session.config)) as db:
                db.execute("DROP TABLE items")

        @pytest.fixture(scope="session")
        def db(request, worker_id):
            connection = sqlite3.connect(_path(request.config), isolation_level=None)
            yield connection
            connection.close()
    """,
    "tests/test_a.py": """
        def test_polluter(db):
            db.execute("INSERT INTO items VALUES ('left behind')")

        def test_victim(db):
            assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 0

        def test_bystander(db):
            assert db.execute("SELECT 1").fetchone()[0] == 1
    """,
}

# A library that starts once per process, at session start, and is never stopped: a fork of
# the server, where it started already, cannot start it again; a fresh pytest can.
ONCE_PER_PROCESS = {
    "engine.py": """
        STARTED = False

        def start():
            global STARTED
            if STARTED:
                raise RuntimeError("engine already started in this process")
            STARTED = True
    """,
    "tests/conftest.py": """
        import engine

        def pytest_sessionstart(session):
            engine.start()
    """,
}


def seeds(tmp_path: Path, *args: str) -> tuple[int, dict[str, str]]:
    out = tmp_path / "report.json"
    code = run_cli(["seeds", "tests", "--count", "1", *args, "--json", str(out)])
    tests = read_json(out)["tests"]
    assert isinstance(tests, list)
    return code, {t["nodeid"]: t["verdict"] for t in tests if t["verdict"] != "stable"}


def printed(capsys: pytest.CaptureFixture[str]) -> str:
    """What isoscan printed, rich's line wrapping undone."""
    captured = capsys.readouterr()
    return " ".join((captured.out + captured.err).split())


@pytest.mark.parametrize("trials", ["fork", "--no-fork"])
def test_a_crash_flag_kept_in_the_cache_across_sessions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        trials: str) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", {"tests/conftest.py": CRASH_FLAG, **PAIR}))
    code, found = seeds(tmp_path, *([trials] if trials != "fork" else []))
    assert found == {VICTIM: "order-dependent"}
    assert code == 1
    assert "fresh subprocess" not in printed(capsys)  # forks ran it: no fallback


@pytest.mark.parametrize("trials", ["fork", "--no-fork"])
def test_a_schema_created_at_session_start_once_per_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        trials: str) -> None:
    root = write(tmp_path / "suite", SCHEMA)
    monkeypatch.chdir(root)
    code, found = seeds(tmp_path, "--workers", "0,2", *([trials] if trials != "fork" else []))
    assert found == {VICTIM: "order-dependent"}
    assert code == 1
    assert "fresh subprocess" not in printed(capsys)
    # Every session dropped what it created, the fork server's own included.
    assert sorted(p.name for p in root.glob("schema-*.sqlite")) == [
        "schema-gw0.sqlite", "schema-gw1.sqlite", "schema-master.sqlite"]
    for path in root.glob("schema-*.sqlite"):
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_hooks_that_cannot_run_in_a_fork_fall_back_to_subprocesses_said_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", {**ONCE_PER_PROCESS, **PAIR}))
    code, found = seeds(tmp_path)
    assert found == {VICTIM: "order-dependent"}
    assert code == 1
    said = printed(capsys)
    assert said.count("each trial runs in a fresh subprocess") == 1, said
    assert "RuntimeError: engine already started in this process" in said
