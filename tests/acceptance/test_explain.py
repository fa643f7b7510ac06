"""isoscan explain against small suites with planted polluters: the exact state named.

Each suite runs once (one real pytest subprocess) in a module-scoped fixture; the tests then
assert on the exact report lines of its JSON answer, one test per kind of state.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import closing, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from suitegen import run_cli, write

from isoscan.explain.state import snapshot
from isoscan.explain.state.base import Change
from isoscan.explain.workflow import MODULE, TEST, Vocabulary, rank


@dataclass
class Run:
    code: int
    doc: dict[str, Any]
    output: str
    root: Path

    @property
    def lines(self) -> list[str]:
        return [c["line"] for c in self.doc["changes"]]

    def entry(self, line: str) -> dict[str, Any]:
        found = [c for c in self.doc["changes"] if c["line"] == line]
        assert found, f"{line!r} not in {self.lines}"
        return found[0]


def explain(root: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    """``isoscan explain`` in-process, in ``root``; the rendered report is captured too.
    Arguments after a ``--`` in ``args`` go to pytest."""
    out = root.parent / f"{root.name}-explain.json"
    own = list(args[:args.index("--")]) if "--" in args else list(args)
    to_pytest = list(args[len(own):])
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(buffer):
        mp.chdir(root)
        mp.setenv("NO_COLOR", "1")
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        code = run_cli(["explain", *own, "--timeout", "60", "--json", str(out), *to_pytest])
    doc = json.loads(out.read_text()) if out.exists() else {}
    return Run(code, doc, buffer.getvalue(), root)


# -- process-wide state -------------------------------------------------------------------------
PROCESS_POLLUTER = """
import locale, os, socket, sys, time

def test_polluter():
    os.environ["FEATURE_FLAG"] = "on"
    os.environ["ISX_CHANGED"] = "new"
    del os.environ["ISX_REMOVED"]
    os.environ["API_TOKEN"] = "s3cret"
    os.chdir("sub")
    os.umask(0o077)
    sys.path.insert(0, "/isx/extra")
    import isx_helper
    sys.argv.append("--isx-flag")
    sys.setrecursionlimit(4321)
    socket.setdefaulttimeout(7.5)
    os.environ["TZ"] = "EST+05EDT,M3.2.0,M11.1.0"
    time.tzset()
    locale.setlocale(locale.LC_NUMERIC, "C.UTF-8")

def test_victim():
    assert os.environ.get("FEATURE_FLAG") is None
"""


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


@pytest.fixture(scope="module")
def process_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = write(tmp_path_factory.mktemp("proc") / "suite", {
        "test_proc.py": PROCESS_POLLUTER, "isx_helper.py": "VALUE = 1\n", "sub/.keep": "",
    }).resolve()
    return explain(root, "test_proc.py::test_polluter", "test_proc.py::test_victim",
                   env={"ISX_CHANGED": "old", "ISX_REMOVED": "gone", "TZ": "UTC"})


PROCESS_LINES = {
    "env added": "env FEATURE_FLAG: unset -> 'on'",
    "env changed": "env ISX_CHANGED: 'old' -> 'new'",
    "env removed": "env ISX_REMOVED: 'gone' -> unset",
    "env secret masked": "env API_TOKEN: unset -> '***'",
    "sys.path": "sys.path /isx/extra: added at index 0",
    "sys.modules": "sys.modules isx_helper: imported",
    "sys.argv": "sys.argv: appended ['--isx-flag']",
    "recursion limit": "recursion limit: 1000 -> 4321",
    "socket timeout": "socket timeout: None -> 7.5",
    "time zone": "timezone: ('UTC', 'UTC') -> ('EST', 'EDT')",
    "TZ variable": "env TZ: 'UTC' -> 'EST+05EDT,M3.2.0,M11.1.0'",
    "locale": "locale LC_NUMERIC: 'C' -> 'C.UTF-8'",
}


@pytest.mark.parametrize("kind", list(PROCESS_LINES))
def test_process_state_is_named(process_run: Run, kind: str) -> None:
    assert process_run.code == 0, process_run.output
    assert PROCESS_LINES[kind] in process_run.lines


def test_cwd_and_umask_are_named(process_run: Run) -> None:
    root = str(process_run.root)
    assert f"cwd: {root!r} -> {str(process_run.root / 'sub')!r}" in process_run.lines
    assert f"umask: 0o{_umask():03o} -> 0o077" in process_run.lines


def test_nothing_else_is_reported(process_run: Run) -> None:
    expected = len(PROCESS_LINES) + 2  # + cwd and umask
    assert len(process_run.lines) == expected, process_run.lines


def test_what_the_victim_reads_ranks_first_with_its_fix(process_run: Run) -> None:
    first = process_run.doc["changes"][0]
    assert first["line"] == "env FEATURE_FLAG: unset -> 'on'"
    assert (first["rank"], first["mentioned_in"], first["term"]) == (1, TEST, "FEATURE_FLAG")
    assert first["hint"].startswith('monkeypatch.setenv("FEATURE_FLAG", ...)')
    removed = process_run.entry("env ISX_REMOVED: 'gone' -> unset")
    assert removed["hint"].startswith('monkeypatch.delenv("ISX_REMOVED")')
    root = str(process_run.root)
    cwd = process_run.entry(f"cwd: {root!r} -> {str(process_run.root / 'sub')!r}")
    assert cwd["hint"].startswith("monkeypatch.chdir(tmp_path)")


def test_the_report_prints_ranked_lines_and_fixes(process_run: Run) -> None:
    lines = process_run.output.splitlines()
    assert "State left behind by test_proc.py::test_polluter, ranked by what " \
           "test_proc.py::test_victim touches:" in lines
    # 14 changes: ranks are right-aligned to two digits.
    at = lines.index("   1. env FEATURE_FLAG: unset -> 'on'")
    assert lines[at + 1] == "      mentioned by the victim's test or its fixtures: 'FEATURE_FLAG'"
    assert lines[at + 2].startswith('      fix: monkeypatch.setenv("FEATURE_FLAG", ...)')
    # The only change the module (which holds both tests) never mentions comes last.
    assert lines[-4] == "  14. recursion limit: 1000 -> 4321"


def test_json_answer_is_versioned(process_run: Run) -> None:
    doc = process_run.doc
    assert doc["schema"] == "isoscan.explain/1"
    assert (doc["polluters"], doc["victim"], doc["found"]) == (
        ["test_proc.py::test_polluter"], "test_proc.py::test_victim", True)
    assert doc["polluter_outcomes"] == {"test_proc.py::test_polluter": "passed"}


# -- module globals -----------------------------------------------------------------------------
APP = """
DEBUG = False
REGISTRY = {"default": 1}
ITEMS = [1, 2, 3]

class Settings:
    retries = 3

SETTINGS = Settings()
SETTINGS.timeout = 10
"""

GLOBALS_POLLUTER = """
import app
from app import ITEMS

BIG = list(range(1_000_000))

def test_polluter():
    app.DEBUG = True
    app.REGISTRY["user"] = 2
    ITEMS.append(4)
    app.SETTINGS.timeout = 99
    app.Settings.retries = 0
    BIG[500_000] = -1

def test_victim():
    assert app.REGISTRY == {"default": 1}
"""

GLOBAL_LINES = {
    "rebound": "global app.DEBUG: rebound False -> True",
    "dict key": "global app.REGISTRY: dict mutated: key 'user' added",
    "list, under its defining module": "global app.ITEMS: list mutated: length 3 -> 4",
    "object attribute": "global app.SETTINGS: Settings object mutated: attribute timeout "
                        "changed 10 -> 99",
    "class attribute": "global app.Settings: class mutated: attribute retries changed 3 -> 0",
    "million-element list": "global test_globals.BIG: list mutated: contents changed "
                            "(length 1000000)",
}


@pytest.fixture(scope="module")
def globals_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = write(tmp_path_factory.mktemp("globals") / "suite",
                 {"app.py": APP, "test_globals.py": GLOBALS_POLLUTER})
    return explain(root, "test_globals.py::test_polluter", "test_globals.py::test_victim")


@pytest.mark.parametrize("case", list(GLOBAL_LINES))
def test_module_global_is_named(globals_run: Run, case: str) -> None:
    assert globals_run.code == 0, globals_run.output
    assert GLOBAL_LINES[case] in globals_run.lines


def test_globals_report_nothing_else(globals_run: Run) -> None:
    assert sorted(globals_run.lines) == sorted(GLOBAL_LINES.values())


def test_global_fixes_name_the_key_and_attribute(globals_run: Run) -> None:
    registry = globals_run.entry(GLOBAL_LINES["dict key"])
    assert registry["rank"] == 1  # the victim reads app.REGISTRY
    assert registry["hint"].startswith("monkeypatch.setitem(app.REGISTRY, 'user', ...)")
    assert globals_run.entry(GLOBAL_LINES["rebound"])["hint"].startswith(
        'monkeypatch.setattr(app, "DEBUG", ...)')
    assert globals_run.entry(GLOBAL_LINES["object attribute"])["hint"].startswith(
        'monkeypatch.setattr(app.SETTINGS, "timeout", ...)')
    assert globals_run.entry(GLOBAL_LINES["list, under its defining module"])["hint"].startswith(
        'monkeypatch.setattr(app, "ITEMS", list(app.ITEMS))')


def test_million_element_global_is_diffed_within_a_second(globals_run: Run) -> None:
    # Measured inside the plugin: both snapshots and the diff of the globals section.
    section = globals_run.doc["timings"]["sections"]["global"]
    assert section["before"] + section["after"] + section["diff"] < 1.0, section


# -- files --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def system_file() -> Iterator[Path]:
    path = Path(tempfile.gettempdir()) / f"isx-{uuid.uuid4().hex[:12]}.txt"
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def files_run(tmp_path_factory: pytest.TempPathFactory, system_file: Path) -> Run:
    polluter = f"""
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
SYSTEM_FILE = {str(system_file)!r}

def test_polluter(tmp_path):
    (HERE / "data" / "config.json").write_text('{{"a": true}}')
    (HERE / "cache.json").write_text("{{}}")
    (HERE / "old.txt").unlink()
    (HERE / "out").mkdir()
    (HERE / "out" / "a.txt").write_text("a")
    (HERE / "out" / "b.txt").write_text("b")
    Path(tempfile.gettempdir(), "isx-shared.txt").write_text("x")
    Path(SYSTEM_FILE).write_text("x")
    (tmp_path / "scratch.txt").write_text("x")
    (HERE / ".git").mkdir()
    (HERE / ".git" / "HEAD").write_text("x")

def test_victim():
    assert not Path(SYSTEM_FILE).exists()
"""
    root = write(tmp_path_factory.mktemp("files") / "suite", {
        "test_files.py": polluter, "data/config.json": "{}", "old.txt": "old",
    })
    return explain(root, "test_files.py::test_polluter", "test_files.py::test_victim")


def test_files_created_changed_removed_are_named(files_run: Run, system_file: Path) -> None:
    assert files_run.code == 0, files_run.output
    assert sorted(files_run.lines) == sorted([
        "file cache.json: created (2 bytes)",
        "file data/config.json: modified (2 -> 11 bytes)",
        "file old.txt: removed",
        "file out: directory created (2 entries)",
        "file $TMPDIR/isx-shared.txt: created (1 byte)",
        f"file {system_file}: created (1 byte)",
    ])  # tmp_path (pytest's basetemp) and .git are not walked


def test_file_the_victim_names_ranks_first(files_run: Run, system_file: Path) -> None:
    first = files_run.doc["changes"][0]
    assert first["line"] == f"file {system_file}: created (1 byte)"
    assert first["mentioned_in"] == TEST
    assert "tmp_path" in first["hint"]
    assert files_run.entry("file cache.json: created (2 bytes)")["hint"].startswith(
        "write under tmp_path instead of cache.json")


# -- descriptors, threads, processes, logging, warnings, signals, asyncio ----------------------
RESOURCES_POLLUTER = """
import asyncio, logging, os, signal, socket, subprocess, sys, threading, warnings
from pathlib import Path

OUT = Path(os.environ["ISX_OUT"])
STOP = threading.Event()
KEEP = []

def on_usr1(signum, frame):
    pass

class MyPolicy(asyncio.DefaultEventLoopPolicy):
    pass

def test_polluter():
    fd = os.open(Path(__file__).parent / "data.txt", os.O_RDONLY)
    os.dup2(fd, 200)
    os.close(fd)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    (OUT / "port").write_text(str(server.getsockname()[1]))
    os.dup2(server.fileno(), 201)
    server.close()
    threading.Thread(target=STOP.wait, name="isx-worker", daemon=True).start()
    # Blocks on stdin until this pytest process exits and the pipe closes.
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    KEEP.append(child)
    (OUT / "pid").write_text(str(child.pid))
    logging.getLogger("isx.app").setLevel(logging.DEBUG)
    logging.getLogger("isx.app").addHandler(logging.NullHandler())
    warnings.simplefilter("error", UserWarning)
    signal.signal(signal.SIGUSR1, on_usr1)
    asyncio.set_event_loop_policy(MyPolicy())
    asyncio.set_event_loop(asyncio.new_event_loop())

def test_victim():
    pass
"""


@pytest.fixture(scope="module")
def resources_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("resources")
    (base / "out").mkdir()
    root = write(base / "suite", {"test_res.py": RESOURCES_POLLUTER, "data.txt": "data"})
    # pytest's warnings plugin restores the filters around every test; suites that turn it
    # off can leak them.
    return explain(root, "test_res.py::test_polluter", "test_res.py::test_victim", "--",
                   "-p", "no:warnings", env={"ISX_OUT": str(base / "out")})


def _resource_lines(run: Run) -> dict[str, str]:
    out = run.root.parent / "out"
    port, pid = (out / "port").read_text(), (out / "pid").read_text()
    return {
        "fd": "fd data.txt: left open (fd 200)",
        "socket": f"socket tcp 127.0.0.1:{port} LISTEN: left open (fd 201)",
        "thread": "thread isx-worker: still running (daemon, target Event.wait)",
        "process": f"process pid {pid}: still running: {sys.executable} -c import sys; "
                   "sys.stdin.read()",
        "logging level": "logging isx.app: level NOTSET -> DEBUG",
        "logging handler": "logging isx.app: handler added: NullHandler",
        "warnings": "warnings: filter added ('error', category=UserWarning)",
        "signal": "signal SIGUSR1: SIG_DFL -> test_res.on_usr1",
        "asyncio policy": "asyncio event loop policy: None -> test_res.MyPolicy",
        "asyncio loop": "asyncio current event loop: none -> _UnixSelectorEventLoop (open)",
    }


@pytest.mark.parametrize("kind", ["fd", "socket", "thread", "process", "logging level",
                                  "logging handler", "warnings", "signal", "asyncio policy",
                                  "asyncio loop"])
def test_resource_left_behind_is_named(resources_run: Run, kind: str) -> None:
    assert resources_run.code == 0, resources_run.output
    assert _resource_lines(resources_run)[kind] in resources_run.lines


def test_resource_fixes(resources_run: Run) -> None:
    lines = _resource_lines(resources_run)
    hints = {kind: resources_run.entry(line)["hint"] for kind, line in lines.items()}
    assert hints["logging level"].startswith('caplog.set_level(..., logger="isx.app")')
    assert hints["signal"].startswith("old = signal.signal(signal.SIGUSR1, handler)")
    assert hints["thread"].startswith("stop and join thread 'isx-worker' in teardown")
    assert hints["process"].startswith("terminate and wait for it in teardown")


# -- user-defined state: a real SQLite database shared by two tests -----------------------------
DB_CONFTEST = """
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

DB = Path(__file__).parent / "app.db"


@pytest.fixture(scope="session")
def server():
    # Only the polluter uses it: what it leaves up is the polluter's doing.
    os.environ["ISX_SERVER"] = "up"


@pytest.hookimpl(optionalhook=True)
def pytest_isoscan_snapshot(config):
    with closing(sqlite3.connect(DB)) as conn:
        return {"rows.users": conn.execute("SELECT count(*) FROM users").fetchone()[0]}
"""

DB_TESTS = """
import sqlite3
from contextlib import closing

from conftest import DB


def test_adds_user(server):
    with closing(sqlite3.connect(DB)) as conn, conn:
        conn.execute("INSERT INTO users(name) VALUES ('ann')")


def test_counts_users():
    with closing(sqlite3.connect(DB)) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
"""


@pytest.fixture(scope="module")
def db_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = write(tmp_path_factory.mktemp("db") / "suite",
                 {"conftest.py": DB_CONFTEST, "test_db.py": DB_TESTS})
    with closing(sqlite3.connect(root / "app.db")) as conn, conn:
        conn.execute("CREATE TABLE users(name TEXT)")
    return explain(root, "test_db.py::test_adds_user", "test_db.py::test_counts_users")


def test_user_hook_reports_leaked_rows_first(db_run: Run) -> None:
    assert db_run.code == 0, db_run.output
    first = db_run.doc["changes"][0]
    assert first["line"] == "user rows.users: 0 -> 1"
    assert (first["mentioned_in"], first["term"]) == (TEST, "users")
    assert "per-test unique id" in first["hint"]
    assert "transaction rolled back" in first["hint"]


def test_session_fixture_only_the_polluter_uses_is_its_doing(db_run: Run) -> None:
    assert "env ISX_SERVER: unset -> 'up'" in db_run.lines
    assert db_run.doc["shared_fixture_changes"] == []


def test_user_hook_leaves_no_descriptor_behind(db_run: Run) -> None:
    # The hook opens and closes a connection in each snapshot: nothing counts as leaked.
    assert not [line for line in db_run.lines if line.startswith(("fd ", "socket "))]


# -- nothing found, usage errors, a suite that cannot run ---------------------------------------
def test_a_clean_polluter_finds_nothing(tmp_path: Path) -> None:
    """Not even what an autouse session fixture sets up: the victim would have it anyway."""
    root = write(tmp_path / "suite", {"conftest.py": """
import os
import pytest

@pytest.fixture(scope="session", autouse=True)
def app_mode():
    os.environ["APP_MODE"] = "test"
""", "test_a.py": """
import state

def test_clean(tmp_path, monkeypatch):
    monkeypatch.setenv("FEATURE_FLAG", "on")
    monkeypatch.setitem(state.FLAGS, "x", 1)
    (tmp_path / "f.txt").write_text("x")

def test_victim():
    assert not state.FLAGS
"""})
    run = explain(root, "test_a.py::test_clean", "test_a.py::test_victim")
    assert run.code == 1, run.output
    assert (run.doc["found"], run.doc["changes"]) == (False, [])
    shared = run.doc["shared_fixture_changes"]
    assert [(c["fixture"], c["line"]) for c in shared] == [
        ("app_mode", "env APP_MODE: unset -> 'test'")]
    lines = run.output.splitlines()
    assert "No state change found after test_a.py::test_clean." in lines
    assert "  Not listed: 1 change made by fixtures the victim uses too (app_mode)." in lines


def test_unknown_id_is_a_usage_error_with_the_closest_ids(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "suite", {"test_a.py": """
def test_polluter():
    pass

def test_victim():
    pass
"""})
    run = explain(root, "test_a.py::test_poluter", "test_a.py::test_victim")
    assert run.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "isoscan: error: test not collected: test_a.py::test_poluter; did you mean: "
        "test_a.py::test_polluter, test_a.py::test_victim"]


def test_victim_listed_as_polluter_is_a_usage_error(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "suite", {"test_a.py": "def test_a():\n    pass\n"})
    assert explain(root, "test_a.py::test_a", "test_a.py::test_a").code == 2
    assert "the victim is also listed as a polluter" in capsys.readouterr().err


def test_collection_error_means_the_suite_cannot_run(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "suite", {
        "test_a.py": "def test_polluter():\n    pass\n\ndef test_victim():\n    pass\n",
        "test_broken.py": "def test_x(:\n",
    })
    assert explain(root, "test_a.py::test_polluter", "test_a.py::test_victim").code == 3
    assert "the suite could not be collected" in capsys.readouterr().err


def test_polluter_that_kills_the_process_means_the_suite_cannot_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "suite", {"test_a.py": """
import os

def test_polluter():
    os._exit(7)

def test_victim():
    pass
"""})
    assert explain(root, "test_a.py::test_polluter", "test_a.py::test_victim").code == 3
    assert "isoscan: error: test_a.py::test_polluter crashed the test process before its " \
           "state could be read" in capsys.readouterr().err


# -- ranking and fingerprints, in-process -------------------------------------------------------
def test_rank_puts_the_victims_test_first_then_its_module_then_kind() -> None:
    changes = [
        Change(snapshot.SYS_MODULES, "lib", "added", "imported", ("lib",)),
        Change(snapshot.ENV, "A", "added", "unset -> '1'", ("A",)),
        Change(snapshot.ENV, "B", "added", "unset -> '1'", ("B",)),
        Change(snapshot.GLOBAL, "m.X", "rebound", "rebound 1 -> 2", ("X", "m.X")),
    ]
    vocabulary = Vocabulary({TEST: (frozenset({"os", "environ"}), frozenset({"B"})),
                             MODULE: (frozenset({"X"}), frozenset())})
    ranked = rank(changes, vocabulary)
    assert [(r.change.name, r.where) for r in ranked] == [
        ("B", TEST), ("m.X", MODULE), ("A", None), ("lib", None)]
    assert [r.rank for r in ranked] == [1, 2, 3, 4]


def test_file_terms_match_inside_longer_strings() -> None:
    change = Change(snapshot.FILE, "data/cache.json", "added", "created (2 bytes)",
                    ("cache.json", "data/cache.json"))
    vocabulary = Vocabulary({TEST: (frozenset(), frozenset({"/srv/app/data/cache.json"}))})
    assert vocabulary.find(change) == (TEST, "cache.json")


def test_fingerprint_sees_a_change_three_levels_down() -> None:
    value: dict[str, Any] = {"a": {"b": [1, 2]}}
    before = snapshot.read_global(value)
    value["a"]["b"][1] = 3
    assert snapshot.read_global(value).fp != before.fp


def test_fingerprint_sees_a_change_deep_inside_a_huge_list() -> None:
    value = list(range(200_000))
    before = snapshot.read_global(value)
    value[123_456] = -1
    after = snapshot.read_global(value)
    assert (after.fp != before.fp, after.members) == (True, None)


# -- seeds --track-state: latent polluters ------------------------------------------------------
def test_seeds_track_state_lists_latent_polluters_apart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """No test fails, so there are no verdicts; the leak is listed all the same. A unittest
    class's own bookkeeping and a session fixture's setup are not the tests' doing."""
    root = write(tmp_path / "suite", {"conftest.py": """
import os
import pytest

@pytest.fixture(scope="session")
def server():
    os.environ["ISX_SERVER"] = "up"
""", "test_a.py": """
import os
import unittest

def test_leaks():
    os.environ["ISX_LEAK"] = "1"

def test_uses_server(server):
    pass

class TestCase(unittest.TestCase):
    def test_clean(self):
        pass
"""})
    monkeypatch.chdir(root)
    assert run_cli(["seeds", "--count", "0", "--timeout", "30", "--track-state"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index("Latent polluters: 1 of 3 tests leave state changed (no victim had to fail):")
    assert lines[at + 1:at + 4] == [
        "  test_a.py::test_leaks",
        "    env ISX_LEAK: unset -> '1'",
        '      fix: monkeypatch.setenv("ISX_LEAK", ...) instead of writing os.environ: '
        "monkeypatch restores it after the test",
    ]
    assert lines[at + 4] == "  Made by higher-scoped fixture setups, not listed above: server."


# -- in a fork of isoscan bisect's collected session ---------------------------------------------
def _files_polluter(system_file: Path) -> str:
    return f"""
import tempfile
from pathlib import Path

HERE = Path(__file__).parent

def test_polluter(tmp_path):
    (HERE / "data" / "config.json").write_text('{{"a": true}}')
    (HERE / "old.txt").unlink()
    Path(tempfile.gettempdir(), "isx-fork.txt").write_text("x")
    Path({str(system_file)!r}).write_text("x")

def test_victim():
    assert not (HERE / "old.txt").exists()
"""


def _no_process(*args: object, **kwargs: object) -> None:
    raise AssertionError("explain started a pytest process instead of using the fork")


FORK_SUITES = {
    "process": lambda _: {"test_s.py": PROCESS_POLLUTER.replace("test_proc", "test_s"),
                          "isx_helper.py": "VALUE = 1\n", "sub/.keep": ""},
    "globals": lambda _: {"app.py": APP, "test_s.py": GLOBALS_POLLUTER},
    "files": lambda system_file: {"test_s.py": _files_polluter(system_file),
                                  "data/config.json": "{}", "old.txt": "old"},
}


@pytest.mark.parametrize("kind", list(FORK_SUITES))
def test_explain_in_a_fork_equals_explain_in_a_process(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``isoscan bisect`` explains its answer in a fork of the session it collected; every
    change, outcome and note must be what a pytest process of its own reports."""
    from isoscan.execution.argv import Suite
    from isoscan.explain.workflow import explain as explain_state
    from isoscan.store.db import Store
    from isoscan.trials.fork.client import ForkTrials

    for key, value in {"ISX_CHANGED": "old", "ISX_REMOVED": "gone", "TZ": "UTC"}.items():
        monkeypatch.setenv(key, value)
    answers = {}
    for mode in ("process", "fork"):
        system_file = Path(tempfile.gettempdir()) / f"isx-{uuid.uuid4().hex[:12]}.txt"
        root = write(tmp_path / mode / "suite", FORK_SUITES[kind](system_file)).resolve()
        suite = Suite(cwd=root, timeout=60)
        store = Store(tmp_path / mode / "store")
        runner = ForkTrials(suite, store, store.begin_session("t", root, [], [], None, None),
                            "bisect") if mode == "fork" else None
        if runner is not None:  # the fork, never a pytest process of its own
            monkeypatch.setattr("isoscan.explain.workflow.execute_run", _no_process)
        try:
            answer = explain_state(suite, ["test_s.py::test_polluter"], "test_s.py::test_victim",
                                   tmp_path / mode / "explain", runner=runner)
            assert runner is None or runner.fallback_reason is None
        finally:
            if runner is not None:
                runner.close()
            store.close()
            system_file.unlink(missing_ok=True)
        lines = [c.line.replace(str(system_file), "$SYSTEM_FILE").replace(str(root), "$ROOT")
                 for c in answer.changes]
        answers[mode] = (lines, answer.outcomes, answer.notes)
    assert answers["process"][0], "the suite leaves state behind"
    assert answers["fork"] == answers["process"]
