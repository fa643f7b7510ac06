"""isoscan.resources: what outside resources a test touches, and what two tests share.

The tracker's audit hook can never be removed, so every tracker test runs in a fresh
interpreter and prints what it saw as JSON.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from isoscan.resources import (
    Access,
    Resource,
    ResourceKind,
    Shared,
    declare,
    describe_shared,
    fix_hints,
    shared_resources,
)
from isoscan.resources.model import merged

FILE, SQLITE, PORT = ResourceKind.FILE, ResourceKind.SQLITE, ResourceKind.PORT
ENDPOINT, PROGRAM, DECLARED = ResourceKind.ENDPOINT, ResourceKind.PROGRAM, ResourceKind.DECLARED
READ, WRITE, BIND, CONNECT, RUN = Access.READ, Access.WRITE, Access.BIND, Access.CONNECT, Access.RUN

PRELUDE = """\
import json, os, shutil, socket, sqlite3, subprocess, sys, tempfile
from pathlib import Path
from isoscan.resources import Access, ResourceTracker, declare

def emit(resources, leaves=False):
    # What a test leaves behind is asserted on its own (test_files_made_and_left_are_leaves).
    print(json.dumps([r.to_json() for r in resources if leaves or r.access is not Access.LEAVE]))
"""


def run_script(cwd: Path, body: str, *args: str) -> Any:
    script = PRELUDE + textwrap.dedent(body)
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def as_json(*resources: Resource) -> list[list[str]]:
    return [r.to_json() for r in resources]


# -- the tracker, in a fresh interpreter ------------------------------------------------


def test_tracker_sees_files_sqlite_ports_programs_and_declarations(tmp_path: Path) -> None:
    port = free_port()
    seen = run_script(
        tmp_path,
        """
        port = int(sys.argv[1])
        Path("input.txt").write_text("in")  # before start(): not this test's
        tracker = ResourceTracker()
        tracker.start()
        Path("out.txt").write_text("out")  # relative: resolved against the cwd
        Path("input.txt").read_text()
        Path("both.txt").write_text("1")
        Path("both.txt").read_text()  # read after written: still a write
        sqlite3.connect("audit.db").close()
        sqlite3.connect(":memory:").close()
        with socket.socket() as anywhere:
            anywhere.bind(("127.0.0.1", 0))  # the OS picks the port: nothing to collide on
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()
            socket.create_connection(("127.0.0.1", port)).close()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        declare("postgres table", "ledger_entries")
        declare("redis key", "session:1", "read")
        emit(tracker.stop())
        """,
        str(port),
    )
    assert seen == as_json(
        Resource(DECLARED, "ledger_entries", WRITE, "postgres table"),
        Resource(DECLARED, "session:1", READ, "redis key"),
        Resource(ENDPOINT, f"127.0.0.1:{port}", CONNECT),
        Resource(FILE, str(tmp_path / "both.txt"), WRITE),
        Resource(FILE, str(tmp_path / "input.txt"), READ),
        Resource(FILE, str(tmp_path / "out.txt"), WRITE),
        Resource(PORT, f"127.0.0.1:{port}", BIND),
        Resource(PROGRAM, os.path.basename(sys.executable), RUN),
        Resource(SQLITE, str(tmp_path / "audit.db"), WRITE),
    )


def test_tracker_file_operations_and_their_access(tmp_path: Path) -> None:
    seen = run_script(
        tmp_path,
        """
        tempfile.gettempdir()  # its first call probes /tmp with a file of its own
        Path("ro.txt").write_text("x")
        Path("plus.txt").write_text("x")
        Path("ro.db").touch()
        tracker = ResourceTracker()
        tracker.start()
        os.mkdir("d")
        open(b"d/bytes.txt", "w").close()
        os.replace("d/bytes.txt", "d/replaced.txt")
        os.rename("d/replaced.txt", "d/renamed.txt")
        os.unlink("d/renamed.txt")
        os.close(os.open("flags.txt", os.O_WRONLY | os.O_CREAT))
        open(os.open("ro.txt", os.O_RDONLY)).close()  # open() of an fd: seen as the os.open
        open("append.txt", "a").close()
        open("plus.txt", "r+").close()
        os.makedirs("tree/sub")
        Path("tree/sub/f.txt").write_text("x")
        shutil.rmtree("tree")  # its inner removals are relative to a dir fd: not resolved
        sqlite3.connect("file:ro.db?mode=ro", uri=True).close()
        sqlite3.connect("file:mem1?mode=memory&cache=shared", uri=True).close()
        tempfile.TemporaryFile().close()  # unnamed: no other test can reach it
        subprocess.run("true", shell=True)  # the command's program, not "sh"
        emit(tracker.stop())
        """,
    )
    written = ["d", "d/bytes.txt", "d/replaced.txt", "d/renamed.txt", "flags.txt"]
    written += ["append.txt", "plus.txt", "tree", "tree/sub", "tree/sub/f.txt"]
    expected = [Resource(FILE, str(tmp_path / name), WRITE) for name in written]
    expected += [
        Resource(FILE, str(tmp_path / "ro.txt"), READ),
        Resource(PROGRAM, "true", RUN),
        Resource(SQLITE, str(tmp_path / "ro.db"), READ),
    ]
    assert seen == as_json(*sorted(expected))


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="AF_UNIX sockets")
def test_tracker_unix_sockets_are_ports_by_path_or_abstract_name(tmp_path: Path) -> None:
    seen = run_script(
        tmp_path,
        """
        tracker = ResourceTracker()
        tracker.start()
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind("server.sock")
        if sys.platform == "linux":
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind("\\0isoscan-abstract")
        emit(tracker.stop())
        """,
    )
    expected = [Resource(PORT, str(tmp_path / "server.sock"), BIND)]
    if sys.platform == "linux":
        expected.append(Resource(PORT, "@isoscan-abstract", BIND))
    assert seen == as_json(*sorted(expected))


def test_tracker_records_nothing_when_not_started(tmp_path: Path) -> None:
    seen = run_script(
        tmp_path,
        """
        other = ResourceTracker()
        other.start()
        other.stop()  # the hook stays installed from here on
        never_started = ResourceTracker()
        Path("a.txt").write_text("x")
        sqlite3.connect("db.sqlite").close()
        declare("postgres table", "t")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", int(sys.argv[1])))
        before_start = never_started.stop()
        other.start()
        Path("b.txt").write_text("x")
        during = other.stop()
        Path("c.txt").write_text("x")  # after stop(): not collected
        after = other.stop()
        print(json.dumps({
            "never_started": [r.to_json() for r in before_start],
            "during": [r.to_json() for r in during],
            "after": [r.to_json() for r in after],
            "tracking": [other.tracking, never_started.tracking],
        }))
        """,
        str(free_port()),
    )
    assert seen == {
        "never_started": [],
        "during": as_json(Resource(FILE, str(tmp_path / "b.txt"), Access.LEAVE),
                          Resource(FILE, str(tmp_path / "b.txt"), WRITE)),
        "after": [],
        "tracking": [False, False],
    }


def test_tracker_installs_one_hook_however_often_it_starts(tmp_path: Path) -> None:
    seen = run_script(
        tmp_path,
        """
        added = []
        sys.addaudithook(lambda event, args: event == "sys.addaudithook" and added.append(1))
        first, second = ResourceTracker(), ResourceTracker()
        for _ in range(3):
            first.start(); first.stop(); second.start(); second.stop()
        print(json.dumps(len(added)))
        """,
    )
    assert seen == 1


def test_tracker_drops_noise_and_ignored_prefixes(tmp_path: Path) -> None:
    basetemp, later = tmp_path / "basetemp", tmp_path / "later"
    for folder in (basetemp, later, tmp_path / "lib" / "site-packages", tmp_path / "__pycache__"):
        folder.mkdir(parents=True)
    (tmp_path / "helper.py").write_text("x = 1\n")
    (tmp_path / "lib" / "site-packages" / "data.txt").write_text("x")
    seen = run_script(
        tmp_path,
        """
        tracker = ResourceTracker(ignore_prefixes=[Path(sys.argv[1])])
        tracker.add_ignored("later")  # relative: resolved against the cwd
        tracker.start()
        Path(sys.argv[1], "x.txt").write_text("unique per test")
        Path("later", "y.txt").write_text("unique per test")
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(Path(sys.argv[1], "s.sock")))
        Path("helper.py").read_text()  # a .py read: an import, not a resource
        Path("generated.py").write_text("x = 2\\n")  # a .py write is kept
        Path("__pycache__", "m.cpython.pyc").write_bytes(b"")
        Path("lib", "site-packages", "data.txt").read_text()
        Path(sys.prefix, "pyvenv.cfg").exists() and Path(sys.prefix, "pyvenv.cfg").read_text()
        open(os.__file__).close()
        open("/proc/self/status").close()
        open(os.devnull, "w").close()
        Path("keep.txt").write_text("kept")
        emit(tracker.stop())
        """,
        str(basetemp),
    )
    assert seen == as_json(
        Resource(FILE, str(tmp_path / "generated.py"), WRITE),
        Resource(FILE, str(tmp_path / "keep.txt"), WRITE),
    )


def test_tracker_ignoring_a_folder_mid_test_covers_paths_seen_before(tmp_path: Path) -> None:
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "a.txt").write_text("x")
    seen = run_script(
        tmp_path,
        """
        tracker = ResourceTracker()
        tracker.start()
        path = os.path.abspath("late/a.txt")
        for _ in range(3):
            open(path).close()
        tracker.add_ignored("late")
        open(path, "w").close()  # ignored now, though its path was judged before
        Path("b.txt").write_text("x")
        emit(tracker.stop())
        """,
    )
    assert seen == as_json(
        Resource(FILE, str(tmp_path / "b.txt"), WRITE),
        Resource(FILE, str(tmp_path / "late" / "a.txt"), READ),
    )


def test_tracker_hook_never_raises_on_odd_events(tmp_path: Path) -> None:
    seen = run_script(
        tmp_path,
        """
        tracker = ResourceTracker()
        tracker.start()
        sys.audit("open", object(), "w", 0)
        sys.audit("open", "too", "few")
        sys.audit("socket.bind", None, ("host",))
        sys.audit("socket.connect", object(), ("host", "not-a-port"))
        sys.audit("sqlite3.connect", 3)
        sys.audit("subprocess.Popen", None, 42, None, None)
        sys.audit("os.rename", "only-one")
        sys.audit("isoscan.resource", 1, 2, 3)
        sys.audit("isoscan.resource", "postgres table", "t", "delete")
        sys.audit("isoscan.resource", "postgres table", "t")
        declare("postgres table", "kept")
        emit(tracker.stop())
        """,
    )
    assert seen == as_json(Resource(DECLARED, "kept", WRITE, "postgres table"))


@pytest.mark.parametrize(
    ("kind", "name", "access"),
    [
        ("", "t", "write"),
        ("  ", "t", "write"),
        ("postgres table", "", "write"),
        ("postgres table", "t", "delete"),
        ("postgres table", "t", "WRITE"),
    ],
)
def test_declare_rejects_bad_arguments(kind: str, name: str, access: str) -> None:
    with pytest.raises(ValueError, match="declare"):
        declare(kind, name, access)


# -- the model -----------------------------------------------------------------------------


def test_describe_names_each_kind(tmp_path: Path) -> None:
    assert Resource(FILE, str(tmp_path / "audit.db"), WRITE).describe(tmp_path) == "file audit.db"
    assert (
        Resource(SQLITE, "/elsewhere/audit.db", WRITE).describe(tmp_path)
        == "sqlite database /elsewhere/audit.db"
    )
    # A sibling that merely starts with the cwd's name is not inside it.
    assert (
        Resource(FILE, f"{tmp_path}-other/a.txt", READ).describe(tmp_path)
        == f"file {tmp_path}-other/a.txt"
    )
    assert Resource(PORT, "127.0.0.1:18094", BIND).describe() == "port 127.0.0.1:18094"
    assert Resource(ENDPOINT, "[::1]:5432", CONNECT).describe() == "endpoint [::1]:5432"
    assert Resource(PROGRAM, "git", RUN).describe() == "program git"
    assert (
        Resource(DECLARED, "ledger_entries", WRITE, "postgres table").describe()
        == "postgres table ledger_entries"
    )


def test_describe_defaults_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Resource(FILE, str(tmp_path / "d" / "a.txt"), READ).describe() == "file d/a.txt"


@pytest.mark.parametrize(
    "resource",
    [
        Resource(FILE, "/tmp/a b.txt", READ),
        Resource(SQLITE, "/tmp/audit.db", WRITE),
        Resource(PORT, "127.0.0.1:18094", BIND),
        Resource(ENDPOINT, "db:5432", CONNECT),
        Resource(PROGRAM, "git", RUN),
        Resource(DECLARED, "ledger_entries", READ, "postgres table"),
    ],
)
def test_json_round_trip(resource: Resource) -> None:
    data = resource.to_json()
    assert len(data) == (4 if resource.label else 3)
    assert Resource.from_json(json.loads(json.dumps(data))) == resource


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "file",
        {"kind": "file", "name": "a", "access": "read"},
        [],
        ["file", "a"],
        ["file", "a", "read", "", "extra"],
        ["folder", "a", "read"],
        ["file", "a", "eat"],
        ["file", "", "read"],
        ["file", 1, "read"],
        ["declared", "t", "write", None],
    ],
)
def test_from_json_rejects_junk(junk: object) -> None:
    with pytest.raises(ValueError):
        Resource.from_json(junk)


@pytest.mark.parametrize("order", [1, -1])
def test_merged_keeps_one_entry_and_a_write_wins(order: int) -> None:
    sightings = [
        Resource(FILE, "/w/a.txt", READ),
        Resource(FILE, "/w/a.txt", WRITE),
        Resource(FILE, "/w/a.txt", READ),
        Resource(DECLARED, "t", READ, "postgres table"),
        Resource(DECLARED, "t", READ, "mongo collection"),  # another store: kept apart
    ][::order]
    assert merged(sightings) == [
        Resource(DECLARED, "t", READ, "mongo collection"),
        Resource(DECLARED, "t", READ, "postgres table"),
        Resource(FILE, "/w/a.txt", WRITE),
    ]


# -- what two tests share --------------------------------------------------------------------


def test_a_write_and_a_read_of_one_file_are_shared_writer_first(tmp_path: Path) -> None:
    path = str(tmp_path / "audit.db")
    expected = [Shared(FILE, path, "", WRITE, READ)]
    assert shared_resources([Resource(FILE, path, WRITE)], [Resource(FILE, path, READ)]) == expected
    assert shared_resources([Resource(FILE, path, READ)], [Resource(FILE, path, WRITE)]) == expected
    assert describe_shared(expected[0], tmp_path) == "both use file audit.db (write/read)"


def test_two_writes_of_one_file_are_shared(tmp_path: Path) -> None:
    path = str(tmp_path / "out.json")
    shared = shared_resources([Resource(FILE, path, WRITE)], [Resource(FILE, path, WRITE)])
    assert [describe_shared(s, tmp_path) for s in shared] == [
        "both use file out.json (write/write)"
    ]


def test_two_readers_or_different_files_share_nothing() -> None:
    assert shared_resources([Resource(FILE, "/a", READ)], [Resource(FILE, "/a", READ)]) == []
    assert shared_resources([Resource(FILE, "/a", WRITE)], [Resource(FILE, "/b", WRITE)]) == []
    assert shared_resources([Resource(FILE, "/a", WRITE)], []) == []


def test_a_sqlite_database_both_touch_is_shared(tmp_path: Path) -> None:
    shared = shared_resources(
        [Resource(SQLITE, "/abs/audit.db", WRITE)], [Resource(SQLITE, "/abs/audit.db", WRITE)]
    )
    assert shared == [Shared(SQLITE, "/abs/audit.db", "", WRITE, WRITE)]
    assert describe_shared(shared[0], tmp_path) == (
        "both use sqlite database /abs/audit.db (write/write)"
    )
    # Removed as a file by one side, opened as a database by the other: still the database.
    assert shared_resources(
        [Resource(FILE, "/abs/audit.db", WRITE)], [Resource(SQLITE, "/abs/audit.db", WRITE)]
    ) == [Shared(SQLITE, "/abs/audit.db", "", WRITE, WRITE)]


def test_two_binds_of_one_port_collide() -> None:
    shared = shared_resources(
        [Resource(PORT, "127.0.0.1:18094", BIND)], [Resource(PORT, "127.0.0.1:18094", BIND)]
    )
    assert [describe_shared(s) for s in shared] == ["both bind 127.0.0.1:18094"]


@pytest.mark.parametrize(
    ("first", "second", "collide"),
    [
        ("0.0.0.0:8080", "127.0.0.1:8080", True),  # a wildcard bind takes every address
        ("[::]:8080", "10.0.0.5:8080", True),
        ("localhost:8080", "127.0.0.1:8080", True),
        ("127.0.0.1:8080", "127.0.0.2:8080", False),
        ("127.0.0.1:8080", "127.0.0.1:8081", False),
        ("/tmp/app.sock", "/tmp/app.sock", True),
        ("/tmp/app.sock", "/tmp/other.sock", False),
    ],
)
def test_which_binds_collide(first: str, second: str, collide: bool) -> None:
    shared = shared_resources([Resource(PORT, first, BIND)], [Resource(PORT, second, BIND)])
    assert bool(shared) is collide


def test_a_bind_and_a_connect_to_it_are_shared() -> None:
    expected = [Shared(ENDPOINT, "127.0.0.1:18094", "", BIND, CONNECT)]
    bind, connect = (
        Resource(PORT, "127.0.0.1:18094", BIND),
        Resource(ENDPOINT, "127.0.0.1:18094", CONNECT),
    )
    assert shared_resources([bind], [connect]) == expected
    assert shared_resources([connect], [bind]) == expected
    assert describe_shared(expected[0]) == "both use endpoint 127.0.0.1:18094 (bind/connect)"
    # A wildcard bind serves loopback clients, not another host's port of the same number.
    wildcard = Resource(PORT, "0.0.0.0:443", BIND)
    assert shared_resources([wildcard], [Resource(ENDPOINT, "localhost:443", CONNECT)]) == [
        Shared(ENDPOINT, "localhost:443", "", BIND, CONNECT)
    ]
    assert shared_resources([wildcard], [Resource(ENDPOINT, "example.com:443", CONNECT)]) == []


def test_two_clients_or_two_program_runs_share_nothing() -> None:
    connect = Resource(ENDPOINT, "db:5432", CONNECT)
    assert shared_resources([connect], [connect]) == []
    run = Resource(PROGRAM, "git", RUN)
    assert shared_resources([run], [run]) == []


def test_declared_resources_are_shared_by_label_and_name() -> None:
    write = Resource(DECLARED, "ledger_entries", WRITE, "postgres table")
    read = Resource(DECLARED, "ledger_entries", READ, "postgres table")
    shared = shared_resources([read], [write])
    assert shared == [Shared(DECLARED, "ledger_entries", "postgres table", WRITE, READ)]
    assert describe_shared(shared[0]) == "both use postgres table ledger_entries (write/read)"
    assert shared_resources([read], [read]) == []
    other_store = Resource(DECLARED, "ledger_entries", WRITE, "mongo collection")
    assert shared_resources([write], [other_store]) == []
    other_table = Resource(DECLARED, "accounts", WRITE, "postgres table")
    assert shared_resources([write], [other_table]) == []
    # Spelling of the same label differs between two conftests: still the same store.
    respelled = Resource(DECLARED, "ledger_entries", READ, "Postgres  Table")
    assert len(shared_resources([write], [respelled])) == 1


def test_shared_resources_come_most_telling_kind_first() -> None:
    both = [
        Resource(ENDPOINT, "127.0.0.1:9000", CONNECT),
        Resource(FILE, "/w/out.txt", WRITE),
        Resource(PORT, "127.0.0.1:8000", BIND),
        Resource(SQLITE, "/w/a.db", WRITE),
        Resource(DECLARED, "t", WRITE, "postgres table"),
        Resource(PROGRAM, "git", RUN),
    ]
    server = [Resource(PORT, "127.0.0.1:9000", BIND)]
    shared = shared_resources(both, [*reversed(both), *server])
    assert [s.kind for s in shared] == [DECLARED, SQLITE, PORT, FILE, ENDPOINT]


# -- fix hints -----------------------------------------------------------------------------


STOPGAP = (
    '@pytest.mark.xdist_group("{}") with --dist loadgroup keeps them on one worker '
    "(a stopgap, not a fix; pytest 9.2 with pytest-xdist 3.8 ignores the mark, "
    "pytest-xdist issue #1386: there, move them into one module and use --dist loadfile)"
)


def test_fix_hints_for_a_file() -> None:
    hints = fix_hints([Shared(FILE, "/w/audit.db", "", WRITE, READ)])
    assert len(hints) == 2
    assert "tmp_path" in hints[0] and "worker_id" in hints[0]
    assert hints[-1] == STOPGAP.format("audit.db")


def test_fix_hints_for_a_sqlite_database() -> None:
    hints = fix_hints([Shared(SQLITE, "/w/audit.db", "", WRITE, WRITE)])
    assert "database" in hints[0] and "tmp_path" in hints[0] and "worker_id" in hints[0]
    assert hints[-1] == STOPGAP.format("audit.db")


def test_fix_hints_for_a_port() -> None:
    hints = fix_hints([Shared(PORT, "127.0.0.1:18094", "", BIND, BIND)])
    assert "port 0" in hints[0] and "OS picked" in hints[0]
    assert hints[-1] == STOPGAP.format("127.0.0.1:18094")


def test_fix_hints_for_a_server_one_test_binds() -> None:
    hints = fix_hints([Shared(ENDPOINT, "127.0.0.1:18094", "", BIND, CONNECT)])
    assert "port 0" in hints[0] and "server" in hints[0]


def test_fix_hints_for_a_declared_table() -> None:
    hints = fix_hints([Shared(DECLARED, "ledger_entries", "postgres table", WRITE, READ)])
    assert "postgres table" in hints[0]
    assert "correlation id" in hints[0] and "per-test name prefix" in hints[0]
    assert "worker_id" in hints[0]
    assert hints[-1] == STOPGAP.format("ledger_entries")


def test_fix_hints_have_no_duplicates_and_end_with_the_stopgap() -> None:
    shared = [
        Shared(FILE, "/w/a.txt", "", WRITE, READ),
        Shared(FILE, "/w/b.txt", "", WRITE, WRITE),
        Shared(PORT, "127.0.0.1:1", "", BIND, BIND),
        Shared(DECLARED, "t", "postgres table", WRITE, WRITE),
        Shared(PROGRAM, "git", "", RUN, RUN),  # no hint of its own
    ]
    hints = fix_hints(shared)
    assert len(hints) == len(set(hints)) == 4
    assert "postgres table" in hints[0] and "port 0" in hints[1] and "tmp_path" in hints[2]
    assert hints[-1] == STOPGAP.format("t")  # grouped by the most telling resource
    assert fix_hints([]) == []


# -- the conftest hook ----------------------------------------------------------------------


ROOT_CONFTEST = """
import pytest
from isoscan.resources import hooks

def pytest_addhooks(pluginmanager):
    pluginmanager.add_hookspecs(hooks)

@pytest.hookimpl(optionalhook=True)
def pytest_isoscan_resources(item):
    return [
        ("postgres table", "ledger_entries", "write"),
        ("postgres table", "ledger_entries", "read"),  # read and written: a write
        ("bad",),
        ("postgres table", "", "write"),
        ("postgres table", "t", "delete"),
        (1, 2, 3),
        42,
        "not an entry",
    ]
"""

CHECK = """
from isoscan.resources import Access, Resource, ResourceKind
from isoscan.resources.hooks import declared_for

LEDGER = Resource(ResourceKind.DECLARED, "ledger_entries", Access.WRITE, "postgres table")
SESSION = Resource(ResourceKind.DECLARED, "session:1", Access.READ, "redis key")

def test_declared(request):
    assert declared_for(request.config, request.node) == {expected}
"""


def test_declared_for_uses_the_conftests_above_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(ROOT_CONFTEST)
    pytester.makepyfile(test_root=CHECK.format(expected="[LEDGER]"))
    sub = pytester.mkpydir("sub")
    (sub / "conftest.py").write_text(
        "import pytest\n\n"
        "@pytest.hookimpl(optionalhook=True)\n"
        "def pytest_isoscan_resources(item):\n"
        "    return iter([('redis key', 'session:1', 'read')])\n"
    )
    (sub / "test_sub.py").write_text(CHECK.format(expected="[LEDGER, SESSION]"))
    broken = pytester.mkpydir("broken")
    (broken / "conftest.py").write_text(
        "import pytest\n\n"
        "@pytest.hookimpl(optionalhook=True)\n"
        "def pytest_isoscan_resources(item):\n"
        "    raise RuntimeError('conftest bug')\n"
    )
    (broken / "test_broken.py").write_text(CHECK.format(expected="[]"))
    # The root conftest adds the hookspec as isoscan's plugin does; the plugin itself, found by
    # its entry point, stays out (it would add the same hookspec a second time).
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:isoscan")
    result.assert_outcomes(passed=3)


def test_declared_for_without_the_hookspec_is_empty(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain=CHECK.format(expected="[]"))
    pytester.runpytest("-p", "no:randomly", "-p", "no:isoscan").assert_outcomes(passed=1)


def test_files_made_and_left_are_leaves(tmp_path: Path) -> None:
    """A file the test made and did not remove is left behind; one it made and removed, or one
    that was there before it, is not."""
    seen = run_script(
        tmp_path,
        """
        Path("before.txt").write_text("x")
        tracker = ResourceTracker()
        tracker.start()
        Path("before.txt").write_text("y")
        Path("left.txt").write_text("1")
        Path("gone.txt").write_text("2")
        os.remove("gone.txt")
        emit([r for r in tracker.stop() if r.access is Access.LEAVE], leaves=True)
        """,
    )
    assert seen == as_json(Resource(FILE, str(tmp_path / "left.txt"), Access.LEAVE))
