"""Collisions that reproduce: two tests (a test and its twin, in two files) drop and create the
same table name within a few milliseconds of each other, in one shared database. Under
``pytest -n 2`` the one that inserted first reads the other's row and fails; serially both
pass. What made isoscan's concurrent replay miss it: every worker set up a session-scoped
fixture (a schema per worker, slow) and the twin's file a module-scoped one long before the
pair ran, so their recorded start times line up; a replay's fresh lanes set those fixtures up
again, for different lengths of time, and held back only the start of the test, so the bodies
no longer overlapped. The lanes now set up broad fixtures before the recorded moment of each
test's body is waited for.

Each suite is run through ``isoscan seeds --workers 2 --bisect`` (fork trials, and
``--no-fork``) and the answer is asserted exactly: verdict parallel-only, the twin as the only
culprit, the table's database (or declared PostgreSQL table) as what they share. The suites put
``--dist loadfile`` in their ini so each file has a worker of its own; the pair's bodies then
start within ~0.1 s of each other under xdist in the collected order (the run that fails, by
construction; the confirmation's serial replays are what tell parallel-only from an order
dependence, so no serial plan run is needed), and each holds the table for 0.15 s.
isoscan's stated rule (README, Known limits) is what each answer rests on.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from suitegen import read_json, run_cli, write

# Real concurrent replays: `timing`, run one at a time in a pytest process of their own (make test).
pytestmark = pytest.mark.timing

LOADFILE = "[pytest]\npythonpath = .\naddopts = --dist loadfile\n"

BODY = """
def test_{name}(db):
    db.execute("DROP TABLE IF EXISTS {table}")
    db.execute("CREATE TABLE {table} (who TEXT)")
    db.execute("INSERT INTO {table} VALUES ('{name}')")
    time.sleep(0.15)
    assert [r[0] for r in db.execute("SELECT who FROM {table}").fetchall()] == ["{name}"]
"""

# The sync test's file: a long first test, so the pair runs well after every worker set up.
SYNC = """
import time


def test_items_warm_up(db):
    time.sleep(0.6)
""" + BODY.format(name="items_table", table="{table}")

# The twin's file: a module-scoped fixture (an event loop, say) set up once, before its first
# test; its first test is shorter by as much, so the pair starts together under xdist.
TWIN = """
import time

import pytest


@pytest.fixture(scope="module", autouse=True)
def loop():
    time.sleep(0.3)
    yield


def test_items_twin_warm_up(db):
    time.sleep(0.3)
""" + BODY.format(name="items_table_twin", table="{table}")

SQLITE_CONFTEST = """
import os
import sqlite3
import time

import pytest

DB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared.sqlite")


@pytest.fixture(scope="session")
def db(worker_id):
    conn = sqlite3.connect(DB, timeout=10, isolation_level=None)
    # this worker's schema, created once per session; migrations take a while
    conn.execute(f"CREATE TABLE IF NOT EXISTS schema_{worker_id} (version INTEGER)")
    time.sleep(0.25)
    yield conn
    conn.close()
"""

PG_CONFTEST = """
import os
import time

import psycopg
import pytest


@pytest.fixture(scope="session")
def db(worker_id):
    conn = psycopg.connect(os.environ["ISOSCAN_TEST_PG_DSN"], autocommit=True)
    # this worker's schema, created once per session; migrations take a while
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}_{{worker_id}}")
    time.sleep(0.25)
    yield conn
    conn.execute(f"DROP SCHEMA IF EXISTS {schema}_{{worker_id}} CASCADE")
    conn.close()


@pytest.hookimpl(optionalhook=True)
def pytest_isoscan_resources(item):
    # libpq talks to the server below Python's audit hooks: the tests say what they touch
    if "db" in item.fixturenames and "warm_up" not in item.name:
        return [("postgres table", "{table}", "write")]
    return None
"""

SYNC_ID = "tests/test_items.py::test_items_table"
TWIN_ID = "tests/test_items_twin.py::test_items_table_twin"
TWINS = {SYNC_ID: TWIN_ID, TWIN_ID: SYNC_ID}


def sqlite_suite(root: Path) -> Path:
    table = "items"
    write(root, {"tests/conftest.py": SQLITE_CONFTEST,
                 "tests/test_items.py": SYNC.format(table=table),
                 "tests/test_items_twin.py": TWIN.format(table=table)})
    (root / "pytest.ini").write_text(LOADFILE)
    return root


def pg_suite(root: Path) -> tuple[Path, str]:
    token = uuid.uuid4().hex[:8]  # never the table of another test run on the same server
    table = f"isoscan_items_{token}"
    write(root, {"tests/conftest.py": PG_CONFTEST.format(table=table, schema=f"w{token}"),
                 "tests/test_items.py": SYNC.format(table=table),
                 "tests/test_items_twin.py": TWIN.format(table=table)})
    (root / "pytest.ini").write_text(LOADFILE)
    return root, table


def seeds_bisect(root: Path, monkeypatch: pytest.MonkeyPatch, *extra: str
                 ) -> dict[str, object]:
    monkeypatch.chdir(root)
    out = root.parent / f"seeds{'-'.join(extra)}.json"
    code = run_cli(["seeds", "tests", "--count", "0", "--workers", "2", "--timeout", "20",
                    "--bisect", "--json", str(out), *extra])
    assert code == 1, out.read_text() if out.exists() else code
    return read_json(out)


def assert_twin_collides(doc: dict[str, object], shared: list[tuple[str, str]]) -> None:
    """Every victim the run found is one of the pair, and its answer names its twin, only,
    and exactly the shared things: the table seen at the driver first, then the database."""
    tests = doc["tests"]
    assert isinstance(tests, list)
    verdicts = {t["nodeid"]: t["verdict"] for t in tests}
    victims = [n for n, v in verdicts.items() if v == "parallel-only"]
    assert victims and set(victims) <= set(TWINS), verdicts
    assert all(v == "stable" for n, v in verdicts.items() if n not in victims), verdicts
    pairs = doc["pairs"]
    assert isinstance(pairs, list)
    answers = {p["victim"]: p for p in pairs}
    for victim in victims:
        answer = answers[victim]
        assert answer["kind"] == "parallel-only", answer
        assert answer["polluters"] == [[TWINS[victim]]], answer
        parallel = answer["parallel"]
        assert parallel["mechanism"] == "collision", parallel
        # Exactly these: isoscan's own files (the lanes' barrier) are never shared.
        assert [(s["kind"], s["name"]) for s in parallel["shared"]] == shared, parallel


@pytest.mark.parametrize("mode", [[], ["--no-fork"]], ids=["fork", "no-fork"])
def test_twins_dropping_one_sqlite_table_are_each_others_culprit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: list[str]) -> None:
    root = sqlite_suite(tmp_path / "suite")
    doc = seeds_bisect(root, monkeypatch, *mode)
    database = str((root / "shared.sqlite").resolve())
    assert_twin_collides(doc, [(f"sqlite {database}", "items"), ("sqlite database", database)])


@pytest.fixture(scope="module")
def pg_dsn() -> str:
    dsn = os.environ.get("ISOSCAN_TEST_PG_DSN")
    if not dsn:
        pytest.skip("no PostgreSQL server: ISOSCAN_TEST_PG_DSN is not set (.ci/run starts one)")
    pytest.importorskip("psycopg")
    return dsn


@pytest.mark.parametrize("mode", [[], ["--no-fork"]], ids=["fork", "no-fork"])
def test_twins_dropping_one_postgres_table_are_each_others_culprit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_dsn: str, mode: list[str]) -> None:
    root, table = pg_suite(tmp_path / "suite")
    doc = seeds_bisect(root, monkeypatch, *mode)
    # The table as the driver saw it (server and database), then as the suite's hook declares it.
    where = urlsplit(pg_dsn)
    server = f"postgresql {where.hostname}:{where.port}{where.path}"
    assert_twin_collides(doc, [(server, table), ("postgres table", table)])

