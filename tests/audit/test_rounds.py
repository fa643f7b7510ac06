"""Rounds (isoscan/audit/rounds.py): the asks of candidate pairs that share nothing run as the
lanes of one concurrent trial, at most ``lanes_at_once`` lanes, each lane that stands for a
worker with a worker id of its own. Real fork trials on a generated suite: every test writes
down the worker it ran as."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from suitegen import write

from isoscan.audit.rounds import Job, Procedure, Ran, run_rounds
from isoscan.execution.argv import Suite
from isoscan.model.status import Command, RunPurpose
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.factory import make_trials
from isoscan.trials.lanes import Lane

SAYS = """
import json, os

def test_{name}():
    with open(os.path.join(os.path.dirname(__file__), "{name}.json"), "w") as f:
        json.dump({{"worker": os.environ.get("PYTEST_XDIST_WORKER"),
                   "count": os.environ.get("PYTEST_XDIST_WORKER_COUNT")}}, f)
"""
NAMES = ("a", "b", "c", "d", "e")


def _fork_trials(tmp_path: Path, files: dict[str, str]) -> Iterator[TrialRunner]:
    """Fork trials of an audit session on the suite ``files``."""
    root = write(tmp_path / "suite", files)
    store = Store(tmp_path / "store")
    suite = Suite(paths=(".",), pytest_args=(), cwd=root, timeout=30)
    with store.recording_session(Command.AUDIT, suite, None) as session:
        runner = make_trials(suite, store, session.id, RunPurpose.AUDIT, True)
        try:
            yield runner
        finally:
            runner.close()
    store.close()


@pytest.fixture
def trials(tmp_path: Path) -> Iterator[TrialRunner]:
    yield from _fork_trials(tmp_path, {f"test_{n}.py": SAYS.format(name=n) for n in NAMES})


def node(name: str) -> str:
    return f"test_{name}.py::test_{name}"


def asks(*steps: list[Lane], got: list[Ran]) -> Procedure:
    for lanes in steps:
        got.append((yield lanes))


def pair(one: str, two: str) -> list[Lane]:
    return [Lane((node(one),), (0.0,), "gw0"), Lane((node(two),), (0.0,), "gw1")]


def alone(name: str) -> list[Lane]:
    return [Lane((node(name),), (0.0,))]


def said(trials: TrialRunner, name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((trials.suite.cwd / f"{name}.json").read_text())
    return data


def test_pairs_that_share_nothing_run_in_one_round_with_workers_of_their_own(
        trials: TrialRunner) -> None:
    first: list[Ran] = []
    second: list[Ran] = []
    third: list[Ran] = []
    # e meets a (it may not run beside a's pair); c and d meet nothing of a and b.
    meets = {frozenset((node("a"), node("e")))}

    def apart(one: frozenset[str], two: frozenset[str]) -> bool:
        return not one & two and not any(frozenset((x, y)) in meets for x in one for y in two)

    jobs = [Job(asks(pair("a", "b"), got=first), 1.0),
            Job(asks(pair("c", "d"), pair("c", "d"), got=second), 1.0),
            Job(asks(alone("e"), got=third), 1.0)]
    run_rounds(trials, jobs, lanes_at_once=8, apart=apart, workers=8, expected_asks=2,
               length=lambda lanes: 1.0)

    assert trials.count == 2  # two rounds: {a×b, c×d}, then {e alone, c×d}
    assert first[0].outcome.run_id == second[0].outcome.run_id
    assert third[0].outcome.run_id == second[1].outcome.run_id != first[0].outcome.run_id
    # In the first round c×d came second: its lanes are the round's gw2 and gw3.
    assert [lane.worker for lane in second[0].lanes] == ["gw2", "gw3"]
    # A run alone stands for no worker; it went first in round two, c×d then got gw0 and gw1.
    assert [lane.worker for lane in third[0].lanes] == [""]
    assert [lane.worker for lane in second[1].lanes] == ["gw0", "gw1"]
    assert said(trials, "a") == {"worker": "gw0", "count": "8"}
    assert said(trials, "b") == {"worker": "gw1", "count": "8"}
    assert said(trials, "c") == {"worker": "gw0", "count": "8"}  # its last run, round two
    assert said(trials, "e")["worker"] is None
    assert all(r.outcome.outcome_of(t).is_failure is False
               for r in first + second + third for lane in r.lanes for t in lane.tests)


def test_no_round_runs_more_lanes_than_asked(trials: TrialRunner) -> None:
    got: list[list[Ran]] = [[], [], []]
    jobs = [Job(asks(pair("a", "b"), got=got[0]), 1.0),
            Job(asks(pair("c", "d"), got=got[1]), 1.0),
            Job(asks(alone("e"), got=got[2]), 1.0)]
    run_rounds(trials, jobs, lanes_at_once=3, apart=lambda one, two: not one & two,
               workers=3, expected_asks=1, length=lambda lanes: 1.0)
    # a×b (2 lanes) and e (1) fill the first round; c×d, as long, waits for the second.
    assert trials.count == 2
    assert got[0][0].outcome.run_id == got[2][0].outcome.run_id != got[1][0].outcome.run_id


def test_a_short_ask_starts_later_in_lanes_a_short_one_left(trials: TrialRunner) -> None:
    got: list[list[Ran]] = [[], [], []]
    seconds = {node("e"): 1.0, node("c"): 0.3, node("d"): 0.3, node("a"): 0.3}
    jobs = [Job(asks(alone("e"), got=got[0]), 1.0),
            Job(asks(pair("c", "d"), got=got[1]), 0.3),
            Job(asks(alone("a"), got=got[2]), 0.3)]
    run_rounds(trials, jobs, lanes_at_once=3, apart=lambda one, two: not one & two,
               workers=3, expected_asks=1,
               length=lambda lanes: max(seconds[lane.tests[0]] for lane in lanes))
    # e holds one lane for the round; c×d the other two until 0.3 s; a then takes one of
    # those and ends (0.6 s) before e: one round, a held back by 0.3 s.
    assert trials.count == 1
    assert [ran[0].delay for ran in got] == [0.0, 0.0, 0.3]
    assert got[2][0].lanes[0].at == (0.0,)  # as asked: the delay is the round's business
    # Its body was held back: it ended at least 0.3 s after the round's first test began.
    times = got[2][0].outcome.times
    ended = times[node("a")][1]
    assert ended is not None and ended - min(start for start, _ in times.values()) >= 0.3


WAITS_FOR_FAST = """
import os, time
import pytest

HERE = os.path.dirname(__file__)


@pytest.fixture(scope="module")
def fast_ran():
    # Set up before this lane says it is ready: were the round one barrier, test_fast
    # (another ask's lane) could not start before it, and this would wait in vain.
    deadline = time.monotonic() + 15
    while not os.path.exists(os.path.join(HERE, "fast.done")):
        assert time.monotonic() < deadline, "test_fast never ran"
        time.sleep(0.01)


def test_slow(fast_ran):
    pass
"""


@pytest.fixture
def paced(tmp_path: Path) -> Iterator[TrialRunner]:
    yield from _fork_trials(tmp_path, {
        "test_slow.py": WAITS_FOR_FAST,
        "test_fast.py": "import os\n\ndef test_fast():\n    open(os.path.join("
                        "os.path.dirname(__file__), 'fast.done'), 'w').close()\n",
        **{f"test_{n}.py": f"def test_{n}():\n    pass\n" for n in ("c", "d")}})


def test_an_ask_starts_without_waiting_for_the_set_up_of_another(paced: TrialRunner) -> None:
    got: list[list[Ran]] = [[], []]
    jobs = [Job(asks(pair("slow", "c"), got=got[0]), 1.0),
            Job(asks(pair("fast", "d"), got=got[1]), 1.0)]
    run_rounds(paced, jobs, lanes_at_once=4, apart=lambda one, two: not one & two,
               workers=4, expected_asks=1, length=lambda lanes: 1.0)
    assert paced.count == 1
    outcome = got[0][0].outcome
    assert outcome.run_id == got[1][0].outcome.run_id
    # test_slow's set-up waited for test_fast, which started with test_d alone.
    for name in ("slow", "c", "fast", "d"):
        assert outcome.outcome_of(node(name)).ran and not outcome.outcome_of(node(name)).is_failure

