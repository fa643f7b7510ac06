"""Fork trials against throwaway suites: the same outcomes as a fresh subprocess per trial, and
none of a subprocess' cost: no zombie, no hang, no leftover folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import suitegen

from isoscan.errors import SuiteError
from isoscan.execution.argv import Suite
from isoscan.model.outcomes import Outcome
from isoscan.store.db import Store
from isoscan.trials.factory import make_trials
from isoscan.trials.fork.client import ForkTrials
from isoscan.trials.fork.protocol import EXITED, STARTED, child_event, encode_event
from isoscan.trials.outcome import TrialOutcome
from isoscan.trials.subprocess_trials import SubprocessTrials

P = Outcome.PASSED
F = Outcome.FAILED


def write_suite(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    # Its own rootdir: none of isoscan's pyproject settings leak into the suite.
    (root / "pytest.ini").write_text("[pytest]\n")
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")
    return root


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "store")
    yield opened
    opened.close()


def session(store: Store, root: Path) -> int:
    return store.begin_session("test", root, [], [], None, None)


@pytest.fixture
def open_runners() -> Iterator[list[ForkTrials]]:
    runners: list[ForkTrials] = []
    yield runners
    for runner in runners:
        runner.close()


def fork(suite: Suite, store: Store, runners: list[ForkTrials]) -> ForkTrials:
    runner = ForkTrials(suite, store, session(store, suite.cwd), "confirm")
    runners.append(runner)
    return runner


def subprocess_runner(suite: Suite, store: Store) -> SubprocessTrials:
    return SubprocessTrials(suite, store, session(store, suite.cwd), "confirm")


def summary(outcome: TrialOutcome) -> tuple[dict[str, Outcome], int, list[str]]:
    return outcome.outcomes, outcome.exit_code, outcome.missing


def ids(module: str, *names: str) -> list[str]:
    return [f"{module}::{name}" for name in names]


def child_pids(store: Store, run_id: int) -> set[int]:
    return {int(row.process.rpartition("-")[2]) for row in store.executions(run_id)}


def is_alive(pid: int) -> bool:
    """True if ``pid`` exists, zombies included."""
    return Path(f"/proc/{pid}").exists()


def processes_in(folder: Path) -> list[int]:
    """Live processes whose working directory is ``folder`` (a suite's server and children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


POLLUTION = {
    "test_pollution.py": """
        STATE = {}

        def test_polluter():
            STATE["polluted"] = True

        def test_victim():
            assert "polluted" not in STATE

        def test_bystander():
            assert True
    """,
}


def test_polluter_and_victim_equal_subprocess(tmp_path: Path, store: Store,
                                              open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", POLLUTION), timeout=30)
    polluter, victim, bystander = ids("test_pollution.py", "test_polluter", "test_victim",
                                      "test_bystander")
    orders = [[polluter, victim], [victim], [victim, bystander, polluter], [polluter, victim]]
    forked = [fork(suite, store, open_runners).run(order) for order in orders]
    assert [t.outcome_of(victim) for t in forked] == [F, P, P, F]
    assert forked[0].exit_code == 1
    # The parent never ran the polluter: the lone victim after a polluted trial still passes.
    assert forked[1].outcomes == {victim: P}
    spawned = subprocess_runner(suite, store)
    assert [summary(t) for t in forked] == [summary(spawned.run(order)) for order in orders]


def test_each_trial_is_stored_as_a_run(tmp_path: Path, store: Store,
                                       open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", POLLUTION), timeout=30)
    polluter, victim = ids("test_pollution.py", "test_polluter", "test_victim")
    runner = fork(suite, store, open_runners)
    trial = runner.run([polluter, victim], seed=12)
    assert trial.run_id is not None and runner.count == 1
    run = store.run(trial.run_id)
    assert run is not None
    assert (run.purpose, run.ordering, run.seed) == ("confirm", "explicit", 12)
    assert run.status == "failed"
    assert [e.nodeid for e in store.executions(trial.run_id)] == [polluter, victim]
    assert store.results(trial.run_id)[victim].message.startswith("AssertionError")
    assert (run.dir / "seg0" / "order.txt").read_text() == f"{polluter}\n{victim}\n"
    # The child's own terminal output, not the server's.
    assert "1 failed, 1 passed" in (run.dir / "seg0" / "output.log").read_text()


SESSION_FIXTURE = {
    "conftest.py": """
        import os
        import pytest

        SETUPS = []

        @pytest.fixture(scope="session")
        def counted(tmp_path_factory):
            SETUPS.append(os.getpid())
            yield len(SETUPS)
            # One file per process that tore the fixture down.
            marker = os.path.join(os.environ["TEARDOWNS"], str(os.getpid()))
            with open(marker, "w") as stream:
                stream.write(str(len(SETUPS)))
    """,
    "test_session.py": """
        from conftest import SETUPS

        def test_first(counted):
            assert counted == 1 and len(SETUPS) == 1

        def test_second(counted):
            assert counted == 1 and len(SETUPS) == 1
    """,
}


def test_session_fixture_is_set_up_fresh_in_every_trial(
        tmp_path: Path, store: Store, open_runners: list[ForkTrials],
        monkeypatch: pytest.MonkeyPatch) -> None:
    teardowns = tmp_path / "teardowns"
    teardowns.mkdir()
    monkeypatch.setenv("TEARDOWNS", str(teardowns))
    suite = Suite(cwd=write_suite(tmp_path / "s", SESSION_FIXTURE), timeout=30)
    first, second = ids("test_session.py", "test_first", "test_second")
    runner = fork(suite, store, open_runners)
    trials = [runner.run([first, second]), runner.run([second, first]), runner.run([second])]
    assert [set(t.outcomes.values()) for t in trials] == [{P}, {P}, {P}]
    children = set().union(*(child_pids(store, t.run_id or 0) for t in trials))
    assert len(children) == 3 and runner.server_pid not in children
    # Each child tore the session fixture down (teardown_exact), having set it up once.
    assert {int(p.name): p.read_text() for p in teardowns.iterdir()} == dict.fromkeys(
        children, "1")
    spawned = subprocess_runner(suite, store)
    assert summary(spawned.run([first, second])) == summary(trials[0])


CRASHES = {
    "test_crash.py": """
        import ctypes
        import os

        def test_before():
            assert True

        def test_exits():
            os._exit(3)

        def test_segfaults():
            ctypes.string_at(0)

        def test_after():
            assert True
    """,
}


def test_a_crash_is_crashed_then_not_run(tmp_path: Path, store: Store,
                                         open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", CRASHES), timeout=30)
    before, exits, segfaults, after = ids("test_crash.py", "test_before", "test_exits",
                                          "test_segfaults", "test_after")
    orders = [[before, exits, after], [before, segfaults, after], [after]]
    runner = fork(suite, store, open_runners)
    forked = [runner.run(order) for order in orders]
    assert forked[0].outcomes == {before: P, exits: Outcome.CRASHED, after: Outcome.NOT_RUN}
    assert forked[0].exit_code == 3
    assert forked[1].outcome_of(segfaults) is Outcome.CRASHED
    assert forked[1].exit_code < 0  # killed by a signal
    assert forked[2].outcomes == {after: P}  # the server outlived its crashed children
    spawned = subprocess_runner(suite, store)
    assert [summary(t) for t in forked] == [summary(spawned.run(order)) for order in orders]


HANGS = {
    "test_hang.py": """
        import signal
        import time

        def test_sleeps():
            time.sleep(60)

        def test_deaf_sleeper():
            signal.signal(signal.SIGALRM, signal.SIG_IGN)  # pytest-timeout cannot stop it
            time.sleep(60)

        def test_after():
            assert True
    """,
}


def test_pytest_timeout_marks_timeout_like_subprocess(tmp_path: Path, store: Store,
                                                      open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", HANGS), timeout=1)
    sleeps, after = ids("test_hang.py", "test_sleeps", "test_after")
    forked = fork(suite, store, open_runners).run([sleeps, after])
    # pytest-timeout fails the test in the child; the rest of the trial goes on.
    assert forked.outcomes == {sleeps: Outcome.TIMEOUT, after: P}
    assert summary(forked) == summary(subprocess_runner(suite, store).run([sleeps, after]))


def test_hang_watchdog_kills_the_child_and_isoscan_returns(
        tmp_path: Path, store: Store, open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", HANGS), timeout=None)
    deaf, after = ids("test_hang.py", "test_deaf_sleeper", "test_after")
    runner = fork(suite, store, open_runners)
    runner.hang_seconds = 1.0
    started = time.monotonic()
    trial = runner.run([deaf, after])
    assert time.monotonic() - started < 30
    assert trial.outcomes == {deaf: Outcome.TIMEOUT, after: Outcome.NOT_RUN}
    run = store.run(trial.run_id or 0)
    assert run is not None and run.status == "timeout"
    assert not any(is_alive(pid) for pid in child_pids(store, trial.run_id or 0))
    assert runner.run([after]).outcomes == {after: P}


AWKWARD = {
    "test_awkward.py": """
        import pytest

        @pytest.mark.parametrize("value", ["h\\u00e9llo", "a/b::c", "with space", "back\\\\slash"])
        def test_param(value):
            assert value
    """,
    "dir with space/test_spaced.py": """
        def test_spaced():
            assert True
    """,
}


def test_awkward_node_ids_round_trip(tmp_path: Path, store: Store,
                                     open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", AWKWARD), timeout=30)
    runner = fork(suite, store, open_runners)
    collected = runner.collected()
    expected = {
        "test_awkward.py::test_param[h\\xe9llo]",
        "test_awkward.py::test_param[a/b::c]",
        "test_awkward.py::test_param[with space]",
        "test_awkward.py::test_param[back\\\\slash]",
        "dir with space/test_spaced.py::test_spaced",
    }
    assert set(collected) == expected
    order = list(reversed(collected))
    trial = runner.run(order)
    assert trial.outcomes == dict.fromkeys(order, P) and trial.missing == []
    assert [e.nodeid for e in store.executions(trial.run_id or 0)] == order
    assert summary(trial) == summary(subprocess_runner(suite, store).run(order))


@pytest.mark.slow
def test_an_order_of_3000_tests(tmp_path: Path, store: Store,
                                open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", {"test_many.py": """
        import pytest

        @pytest.mark.parametrize("i", range(3000))
        def test_many(i):
            assert i != 1234
    """}), timeout=30)
    order = [f"test_many.py::test_many[{i}]" for i in reversed(range(3000))]
    trial = fork(suite, store, open_runners).run(order)
    assert len(trial.outcomes) == 3000
    assert trial.outcome_of("test_many.py::test_many[1234]") is F
    assert sum(o is P for o in trial.outcomes.values()) == 2999
    assert [e.nodeid for e in store.executions(trial.run_id or 0)] == order
    assert summary(trial) == summary(subprocess_runner(suite, store).run(order))


SEEDED = {
    "test_seeded.py": """
        import random

        def test_first():
            assert True

        def test_draws():
            assert False, repr(random.random())
    """,
}


def test_seed_context_gives_the_same_random_values_as_subprocess(
        tmp_path: Path, store: Store, open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", SEEDED), timeout=30)
    first, draws = ids("test_seeded.py", "test_first", "test_draws")
    runner = fork(suite, store, open_runners)
    spawned = subprocess_runner(suite, store)

    def drawn(trial: TrialOutcome) -> str:
        return store.results(trial.run_id or 0)[draws].message

    assert drawn(runner.run([first, draws], 7)) == drawn(spawned.run([first, draws], 7))
    assert drawn(runner.run([draws], 7)) != drawn(runner.run([draws], 8))
    # No seed: like a fresh interpreter, each child draws from its own entropy.
    assert drawn(runner.run([draws])) != drawn(runner.run([draws]))


def test_no_zombies_and_no_leftovers_after_close(tmp_path: Path, store: Store) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", POLLUTION), timeout=30)
    victim = "test_pollution.py::test_victim"
    with ForkTrials(suite, store, session(store, suite.cwd), "confirm") as runner:
        trials = [runner.run([victim]) for _ in range(3)]
        server = runner.server_pid
        workdir = runner._server.workdir if runner._server else None
        assert server is not None and workdir is not None and workdir.is_dir()
        assert processes_in(suite.cwd) == [server]
        # Each child was reaped by the server before its trial returned.
        children = set().union(*(child_pids(store, t.run_id or 0) for t in trials))
        assert len(children) == 3 and not any(is_alive(pid) for pid in children)
    with pytest.raises(ChildProcessError):  # the server was reaped by close()
        os.waitpid(server, os.WNOHANG)
    assert not is_alive(server)
    assert not workdir.exists()
    assert processes_in(suite.cwd) == []


def test_collection_error_is_a_suite_error(tmp_path: Path, store: Store,
                                           open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", {
        "test_ok.py": "def test_ok():\n    assert True\n",
        "test_broken.py": "import no_such_module_anywhere\n",
    }), timeout=30)
    runner = fork(suite, store, open_runners)
    with pytest.raises(SuiteError) as caught:
        runner.run(["test_ok.py::test_ok"])
    assert "interrupted" in caught.value.message
    assert "no_such_module_anywhere" in caught.value.detail
    assert runner.server_pid is None and runner.count == 0


def test_a_dead_server_is_a_suite_error(tmp_path: Path, store: Store,
                                        open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", POLLUTION), timeout=30)
    victim = "test_pollution.py::test_victim"
    runner = fork(suite, store, open_runners)
    assert runner.run([victim]).outcomes == {victim: P}
    server = runner.server_pid
    assert server is not None
    os.kill(server, 9)
    with pytest.raises(SuiteError, match="fork server died"):
        runner.run([victim])
    assert not is_alive(server)


def test_threads_after_collection_fall_back_to_subprocesses(
        tmp_path: Path, store: Store, open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", {
        **POLLUTION,
        "conftest.py": """
            import threading

            STOP = threading.Event()
            threading.Thread(target=STOP.wait, name="background-poller", daemon=True).start()
        """,
    }), timeout=30)
    heard: list[str] = []
    runner = ForkTrials(suite, store, session(store, suite.cwd), "confirm",
                        on_fallback=heard.append)
    open_runners.append(runner)
    polluter, victim = ids("test_pollution.py", "test_polluter", "test_victim")
    assert runner.run([polluter, victim]).outcome_of(victim) is F
    assert runner.run([victim]).outcome_of(victim) is P
    assert runner.count == 2 and runner.server_pid is None
    assert runner.fallback_reason is not None and "background-poller" in runner.fallback_reason
    assert heard == [runner.fallback_reason]


def test_make_trials_forks_unless_told_or_unable(tmp_path: Path, store: Store,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    suite = Suite(cwd=tmp_path)
    heard: list[str] = []
    forked = make_trials(suite, store, 1, "confirm", True, heard.append)
    assert isinstance(forked, ForkTrials)
    forked.close()
    assert isinstance(make_trials(suite, store, 1, "confirm", False, heard.append),
                      SubprocessTrials)
    assert heard == []
    monkeypatch.setattr("isoscan.trials.fork.server_process.fork_unavailable",
                        lambda: "no fork here")
    fallback = make_trials(suite, store, 1, "confirm", True, heard.append)
    assert isinstance(fallback, SubprocessTrials)
    assert heard == ["no fork here; each trial runs in a fresh subprocess"]
    fallback.close()  # harmless on a runner with nothing to end


def test_run_alone_runs_each_test_in_its_own_child(tmp_path: Path, store: Store,
                                                   open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", {**POLLUTION, **CRASHES, **HANGS}),
                  timeout=None)
    polluter, victim = ids("test_pollution.py", "test_polluter", "test_victim")
    before, exits, after = ids("test_crash.py", "test_before", "test_exits", "test_after")
    deaf = "test_hang.py::test_deaf_sleeper"
    order = [polluter, victim, exits, deaf, before, after, "test_gone.py::test_missing"]
    runner = fork(suite, store, open_runners)
    runner.hang_seconds = 1.0
    done: list[tuple[int, int]] = []
    trial = runner.run_alone(order, jobs=2, on_exit=lambda d, t: done.append((d, t)))
    assert trial.outcomes == {polluter: P, victim: P, exits: Outcome.CRASHED,
                              deaf: Outcome.TIMEOUT, before: P, after: P}
    assert trial.missing == ["test_gone.py::test_missing"]
    assert trial.exit_code == 3 and runner.count == 1
    assert sorted(done)[-1] == (7, 7)
    # One stored run; every test in a process of its own.
    rows = store.executions(trial.run_id or 0)
    assert sorted(r.nodeid for r in rows) == sorted(order[:-1])
    assert len({r.process for r in rows}) == 6
    # Each alone outcome equals a subprocess trial of that test alone.
    spawned = subprocess_runner(suite, store)
    for nodeid in (victim, exits, before):
        assert spawned.run([nodeid]).outcome_of(nodeid) is trial.outcome_of(nodeid)


DEMO = suitegen.EXAMPLES / "demo"


@pytest.mark.slow
@pytest.mark.skipif(not DEMO.is_dir(), reason="needs examples/demo")
def test_example_suite_equal_subprocess_in_both_orders_and_alone(
        tmp_path: Path, store: Store, open_runners: list[ForkTrials]) -> None:
    root = tmp_path / "demo"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns(".isoscan", "__pycache__"))
    # The coin flip is random by design; everything else is deterministic serially.
    suite = Suite(paths=("tests",), pytest_args=("-k", "not coin"), cwd=root, timeout=2)
    runner = fork(suite, store, open_runners)
    collected = runner.collected()
    assert len(collected) > 40
    spawned = subprocess_runner(suite, store)
    for order in (collected, collected[::-1]):
        forked = runner.run(order, 42)
        assert summary(forked) == summary(spawned.run(order, 42))
    # Reversed: the hang and the crash victims run after their polluters.
    assert {Outcome.TIMEOUT, Outcome.CRASHED, Outcome.NOT_RUN} <= set(forked.outcomes.values())
    alone = runner.run_alone(collected)
    # Alone with the whole suite collected: the import-time test fails too (the module that
    # switches its format was imported at collection).
    assert sorted(n for n, o in alone.outcomes.items() if o is not P) == [
        "tests/api/test_plugins_api.py::test_brittle_upper_plugin_available",
        "tests/report/test_report_csv.py::test_import_time_report_is_csv_by_default",
        "tests/test_broken.py::test_broken_always_fails",
    ]


def test_an_interrupt_ends_children_and_server_without_orphans(
        tmp_path: Path, store: Store, open_runners: list[ForkTrials]) -> None:
    suite = Suite(cwd=write_suite(tmp_path / "s", {**HANGS, **POLLUTION}), timeout=None)
    quick, deaf = "test_pollution.py::test_bystander", "test_hang.py::test_deaf_sleeper"
    runner = fork(suite, store, open_runners)
    server = runner.collected() and runner.server_pid
    assert server

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        # Two at a time: the sleeper has started before the quick test's exit is reported.
        runner.run_alone([deaf, quick], jobs=2, on_exit=interrupt)
    assert time.monotonic() - started < 20
    (run,) = store.runs(open_runners[0].session_id)
    assert run.status == "interrupted"
    # Children of an alone request share one event file; each says hello with its pid.
    shared = (run.dir / "seg0" / "records" / "children.events").read_text().splitlines()
    children = {json.loads(line)["pid"] for line in shared if '"hello"' in line}
    assert children and not any(is_alive(pid) for pid in children)  # reaped, not orphaned
    # Nothing is left running in the suite's folder: the sleeper was killed too.
    assert processes_in(suite.cwd) == []
    with pytest.raises(ChildProcessError):
        os.waitpid(server, os.WNOHANG)
    assert runner.server_pid is None


@pytest.mark.parametrize(("kind", "status"), [(STARTED, None), (EXITED, 0), (EXITED, 1),
                                              (EXITED, -9)])
def test_a_child_event_is_the_line_encode_event_writes(kind: str, status: int | None) -> None:
    fields = {"trial": 12, "pid": 40961, "index": 1499}
    if status is not None:
        fields["status"] = status
    line = child_event(kind, 12, 40961, 1499, status)
    assert line.decode() == encode_event(kind, **fields)
    assert json.loads(line) == {"e": kind, **fields}


def test_ctrl_c_as_a_chunk_is_stored_hears_that_chunk_once(
        tmp_path: Path, store: Store, open_runners: list[ForkTrials]) -> None:
    # Ctrl-C lands right after the first chunk is stored and handed on, before isoscan marks
    # it stored: it must not be stored and handed on a second time.
    suite = Suite(cwd=write_suite(tmp_path / "s", {"test_many.py": """
        import pytest

        @pytest.mark.parametrize("n", range(6))
        def test_n(n):
            pass
    """}), timeout=None)
    order = [f"test_many.py::test_n[{n}]" for n in range(6)]
    runner = fork(suite, store, open_runners)
    heard: list[tuple[int | None, tuple[str, ...]]] = []

    def on_chunk(outcome: TrialOutcome) -> None:
        heard.append((outcome.run_id, tuple(outcome.order)))
        if len(heard) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        runner.run_alone_chunks([order[:2], order[2:4], order[4:]], on_chunk=on_chunk)
    assert heard[0][1] == tuple(order[:2])
    assert len({run_id for run_id, _ in heard}) == len(heard)  # no chunk heard twice
    first = store.executions(heard[0][0] or 0)
    assert sorted(r.nodeid for r in first) == order[:2]  # its rows written once
