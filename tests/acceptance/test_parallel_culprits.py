"""Parallel-only victims: isoscan names the test on another xdist worker that breaks each one,
and what they share, from a real ``pytest -n 2`` run.

The suites put ``--dist loadfile`` in their ini and have two test files, so that each file
goes to a worker of its own and both start at the same moment: the failing xdist run is then
reliable, and what is tested is isoscan's search, not xdist's scheduling. Every answer is
checked by its exact culprit. Concurrent replays are timing-based: isoscan's stated rule
(replays beside the culprits and alone until the bound of --confidence is reached; passes 4 of
4 beside everything else) is what the answers rest on; the planted tests hold their resource
for hundreds of milliseconds, far longer than the scheduling jitter.
"""

from __future__ import annotations

import math
import shlex
import socket
from pathlib import Path

import pytest
from suitegen import read_json, run_cli, write

from isoscan.bisect.parallel import TRIES, VERIFY_CAP, find_collision
from isoscan.bisect.timeline import timeline
from isoscan.execution.argv import Suite
from isoscan.model.answer import BisectKind
from isoscan.model.status import Command, RunPurpose
from isoscan.store.db import Store
from isoscan.trials.factory import make_trials

# Real collisions between xdist workers and concurrent replays: run alone (make test).
pytestmark = pytest.mark.timing

LOADFILE = "[pytest]\npythonpath = .\naddopts = --dist loadfile\n"

SHARED_DB = """
import os
import sqlite3
import time

DB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared.sqlite")


def connect():
    conn = sqlite3.connect(DB, timeout=10)
    conn.execute("CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY, who TEXT)")
    conn.commit()
    return conn
"""

EXPORTER = SHARED_DB + """

def test_export_reads_config():
    time.sleep(0.05)


def test_export_checks_disk():
    time.sleep(0.05)


def test_export_writes_audit_rows():
    conn = connect()
    with conn:
        conn.execute("INSERT INTO audit(who) VALUES ('export')")
    time.sleep(0.5)
    with conn:
        conn.execute("DELETE FROM audit WHERE who = 'export'")
    conn.close()


def test_export_format():
    assert "a,b".split(",") == ["a", "b"]
"""

REPORTER = SHARED_DB + """

def test_report_sees_no_foreign_rows():
    conn = connect()
    try:
        for _ in range(8):
            assert conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 0
            time.sleep(0.05)
    finally:
        conn.close()
"""


def quiet_module(name: str, count: int, pause: float) -> str:
    return "import time\n\n" + "".join(
        f"def test_{name}_{i}():\n    time.sleep({pause})\n\n" for i in range(count))


def suite_with(tmp_path: Path, files: dict[str, str]) -> Path:
    root = write(tmp_path / "suite", files)
    (root / "pytest.ini").write_text(LOADFILE)
    return root


def seeds_then_bisect(root: Path, victim: str, monkeypatch: pytest.MonkeyPatch,
                      *extra: str, order: str | None = None) -> tuple[int, dict[str, object]]:
    """The normal workflow: seeds under xdist flags it, bisect names the culprit (from the
    failing run of ``order``, when given; else the one bisect picks)."""
    monkeypatch.chdir(root)
    out = root.parent / "seeds.json"
    assert run_cli(["seeds", "tests", "--count", "0", "--workers", "2", "--timeout", "20",
                    "--json", str(out)]) == 1
    report = read_json(out)
    verdicts = {t["nodeid"]: t["verdict"] for t in report["tests"]}  # type: ignore
    assert verdicts[victim] == "parallel-only"
    if order is not None:
        run = next(r for r in report["runs"] if r["order"] == order)  # type: ignore
        assert run["status"] == "failed", report["runs"]
        extra = (*extra, "--run", str(run["id"]))
    answer_file = root.parent / "bisect.json"
    code = run_cli(["bisect", victim, "--timeout", "20", "--json", str(answer_file), *extra])
    return code, read_json(answer_file)


@pytest.mark.parametrize("mode", [[], ["--no-fork"]], ids=["fork", "no-fork"])
def test_collision_through_a_shared_database_names_the_culprit_and_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        mode: list[str]) -> None:
    root = suite_with(tmp_path, {
        "tests/test_export.py": EXPORTER,
        "tests/test_report.py": REPORTER,
    })
    victim = "tests/test_report.py::test_report_sees_no_foreign_rows"
    code, answer = seeds_then_bisect(root, victim, monkeypatch, *mode)
    assert code == 0, answer
    assert answer["kind"] == "parallel-only"
    assert answer["polluters"] == [["tests/test_export.py::test_export_writes_audit_rows"]]
    parallel = answer["parallel"]
    assert isinstance(parallel, dict)
    assert parallel["mechanism"] == "collision"
    shared = parallel["shared"]
    # The table both write, seen at sqlite3 (resources/sql_capture.py), then the file.
    kinds = [s["kind"] if s["kind"] == "sqlite database" else Path(s["kind"]).name
             for s in shared]
    assert list(zip(kinds, [Path(s["name"]).name for s in shared], strict=True)) == [
        ("shared.sqlite", "audit"), ("sqlite database", "shared.sqlite")]
    assert shared[0]["culprit"] == "tests/test_export.py::test_export_writes_audit_rows"
    assert parallel["reproduced"]["failed"] >= 1
    printed = capsys.readouterr().out
    assert "both use sqlite database" in printed and "shared.sqlite" in printed
    # The printed reproduce command, fed back to isoscan, makes the victim fail again.
    command = shlex.split(str(answer["reproduce"]))
    assert command[:2] == ["isoscan", "replay"]
    assert run_cli(command[1:]) == 1
    assert "failed in" in capsys.readouterr().out


def test_two_services_on_one_fixed_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = f"""
import socket
import time


def serve(hold):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", {port}))
        sock.listen()
        time.sleep(hold)
    finally:
        sock.close()
"""
    root = suite_with(tmp_path, {
        "tests/server.py": server,
        "tests/test_metrics.py": "from server import serve\n\n"
                                 "def test_metrics_server_starts():\n    serve(0.8)\n",
        "tests/test_health.py": "import time\nfrom server import serve\n\n"
                                "def test_health_server_starts():\n"
                                "    time.sleep(0.3)\n    serve(0.1)\n",
    })
    (root / "conftest.py").write_text(ON_PATH)
    victim = "tests/test_health.py::test_health_server_starts"
    code, answer = seeds_then_bisect(root, victim, monkeypatch)
    assert code == 0, answer
    assert answer["polluters"] == [["tests/test_metrics.py::test_metrics_server_starts"]]
    parallel = answer["parallel"]
    assert isinstance(parallel, dict)
    texts = [s["text"] for s in parallel["shared"]]
    assert texts[0] == f"both bind 127.0.0.1:{port}"
    assert any("port" in hint for hint in parallel["fix_hints"])


IMPORTER = """
import time
from db import connect


def test_importer_waits_for_the_feed():
    time.sleep(0.3)


def test_import_leaves_rows():
    conn = connect()
    with conn:
        conn.execute("INSERT INTO audit(who) VALUES ('import')")
    conn.close()
"""

LEDGER = """
import time
from db import connect


def test_ledger_header():
    time.sleep(0.6)


def test_ledger_starts_empty():
    conn = connect()
    try:
        assert conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 0
    finally:
        conn.close()
"""

ON_PATH = "import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), 'tests'))\n"
EMPTIED = """
import pytest
from db import connect


@pytest.fixture({scope}, autouse=True)
def empty_ledger():
    conn = connect()
    with conn:
        conn.execute("DELETE FROM audit")
    conn.close()
"""


def test_rows_left_for_another_worker_are_a_leftover_bisected_serially(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each process empties the table when its session starts; under xdist the importer on
    the other worker adds rows before the victim counts them. A serial replay of every
    worker's tests by start time reproduces it: a leftover, bisected as usual. Bisected from
    the collected order's run, where the importer ends 0.3 s before the victim starts by
    construction; in the reversed order both come first in their files, and when that run
    fails too (under load) the insert landed while the victim ran: a true collision, which
    the search rightly answers as one."""
    root = suite_with(tmp_path, {
        "tests/db.py": SHARED_DB,
        "conftest.py": ON_PATH + EMPTIED.format(scope='scope="session"'),
        "tests/test_importer.py": IMPORTER,
        "tests/test_ledger.py": LEDGER,
    })
    victim = "tests/test_ledger.py::test_ledger_starts_empty"
    code, answer = seeds_then_bisect(root, victim, monkeypatch, order="collected")
    assert code == 0, answer
    assert answer["kind"] == "parallel-only"
    assert answer["polluters"] == [["tests/test_importer.py::test_import_leaves_rows"]]
    parallel = answer["parallel"]
    assert isinstance(parallel, dict)
    assert parallel["mechanism"] == "leftover"
    workers = parallel["workers"]
    assert workers["tests/test_importer.py::test_import_leaves_rows"].startswith("gw")
    # The table seen at sqlite3 first, then the database file.
    assert [Path(s["name"]).name for s in parallel["shared"]] == ["audit", "shared.sqlite"]
    # A leftover reproduces serially: its reproduce command is a plain pytest run.
    assert "pytest" in str(answer["reproduce"]) and "isoscan-order" in str(answer["reproduce"])


def test_a_leftover_that_needs_the_timing_is_found_by_a_concurrent_replay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The victim's module empties the table when it starts, so no serial order breaks it
    (pytest sets a module fixture up again when another module's test came in between);
    under xdist the importer adds rows after the module started and before the victim. Only
    a replay with the victim's own worker's tests first and the importer beside them shows
    it. Bisected from the collected order's run, which fails that way by construction (0.3 s
    before the victim); in the reversed order both tests come first in their files, and
    when that run fails too it is a true collision, which the search answers as one."""
    root = suite_with(tmp_path, {
        "tests/db.py": SHARED_DB,
        "conftest.py": ON_PATH,
        "tests/test_importer.py": IMPORTER,
        "tests/test_ledger.py": EMPTIED.format(scope='scope="module"') + LEDGER,
    })
    victim = "tests/test_ledger.py::test_ledger_starts_empty"
    code, answer = seeds_then_bisect(root, victim, monkeypatch, order="collected")
    assert code == 0, answer
    assert answer["polluters"] == [["tests/test_importer.py::test_import_leaves_rows"]]
    parallel = answer["parallel"]
    assert isinstance(parallel, dict)
    assert parallel["mechanism"] == "leftover"
    assert str(answer["reproduce"]).startswith("isoscan replay ")


def test_a_culprit_hidden_among_200_concurrent_tests_in_few_trials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One of 200 short tests on the other worker touches the file the victim watches; it sits
    in the middle of its file, so it runs beside the victim in the collected and the reversed
    order alike. The resource map (what each touched in the first replay) picks it out."""
    tests = ["import os\nimport time\n\nMARK = os.path.join(os.path.dirname("
             "os.path.abspath(__file__)), '..', 'busy.mark')\n"]
    for i in range(200):
        if i == 100:
            tests.append(f"def test_batch_{i}():\n    with open(MARK, 'w') as f:\n"
                         "        f.write('x')\n    time.sleep(0.05)\n    os.remove(MARK)\n\n")
        else:
            tests.append(f"def test_batch_{i}():\n    pass\n\n")
    watcher = """
import os
import time

MARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "busy.mark")


def test_watcher_never_sees_a_mark():
    # The culprit starts ~0.4 s into a -n 2 run on a loaded 2-core machine: 3 times over.
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:
        try:
            with open(MARK):
                raise AssertionError("someone else's mark is there")
        except FileNotFoundError:
            pass
        time.sleep(0.002)
"""
    root = suite_with(tmp_path, {"tests/test_batch.py": "".join(tests),
                                 "tests/test_watcher.py": watcher})
    victim = "tests/test_watcher.py::test_watcher_never_sees_a_mark"
    code, answer = seeds_then_bisect(root, victim, monkeypatch)
    assert code == 0, answer
    assert answer["polluters"] == [["tests/test_batch.py::test_batch_100"]]
    parallel = answer["parallel"]
    assert isinstance(parallel, dict)
    suspects = parallel["candidates"]
    assert suspects >= 100  # most of the batch ran beside the watcher
    # Every concurrent replay of the search: only the culprit touches the watched file, so
    # the resource map of the first replay beside all of them names it and the suspects are
    # never halved: 4 replays with nothing beside it, 1 beside all, at most VERIFY_CAP beside
    # the culprit (the map's question counts), 4 beside the others, 4 alone again. Halving
    # 200 suspects would take 2·⌈log₂ N⌉ questions of up to 4 replays each on top.
    assert parallel["replays"] <= TRIES + 1 + VERIFY_CAP + TRIES + TRIES, parallel
    assert parallel["replays"] < 2 * math.ceil(math.log2(suspects)) * TRIES
    assert [Path(s["name"]).name for s in parallel["shared"]] == ["busy.mark"]


def test_a_merely_non_deterministic_victim_is_never_blamed(tmp_path: Path) -> None:
    """A victim that fails half the time at random, whatever runs beside it: the collision
    search calls it non-deterministic or not reproducible and blames no test. (isoscan's
    rule lets a 50% coin through only if it passes 4 of 4 alone before the search, fails
    beside the culprits often enough for the bound, and passes 4 of 4 alone after it: about
    1 in 2,000.)"""
    root = suite_with(tmp_path, {
        "tests/test_coin.py": "import os, time\n\ndef test_coin():\n    time.sleep(0.2)\n"
                              "    assert os.urandom(1)[0] < 128\n",
        "tests/test_other.py": quiet_module("other", 8, 0.05),
    })
    store = Store(tmp_path / "store")
    suite = Suite(paths=("tests",), cwd=root, timeout=20)
    session = store.begin_suite_session(Command.BISECT, suite)
    runner = make_trials(suite, store, session, RunPurpose.BISECT, True)
    try:
        run_id = _xdist_run_where_it_failed(store, session, suite, "tests/test_coin.py::test_coin")
        line = timeline(store, run_id, "tests/test_coin.py::test_coin")
        assert line is not None
        result, _ = find_collision(line.victim, line, None, runner, _Quiet(), "test", root)
    finally:
        runner.close()
        store.close()
    assert result.polluters == []
    assert result.kind in (BisectKind.NON_DETERMINISTIC, BisectKind.PARALLEL_ONLY)
    assert result.parallel is None


class _Quiet:
    def step(self, trials: int, message: str) -> None:
        pass


def _xdist_run_where_it_failed(store: Store, session: int, suite: Suite, victim: str) -> int:
    """A stored ``-n 2`` run in which the coin came down failing (each run: 1 in 2)."""
    from isoscan.execution.argv import Ordering
    from isoscan.execution.runner import execute_run
    from isoscan.model.status import OrderingKind

    for _ in range(30):
        run_id, run_dir = store.start_run(session, RunPurpose.PLAN, OrderingKind.COLLECTED,
                                          None, 2)
        result = execute_run(suite, Ordering(OrderingKind.COLLECTED), 2, run_dir)
        store.finish_run(run_id, result)
        if result.results[victim].outcome.is_failure:
            return run_id
    raise AssertionError("the coin never failed in 30 runs (1 in 2**30)")
