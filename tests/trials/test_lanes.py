"""Lanes of a concurrent replay start the way xdist's workers start: a process per lane, each
one the recorded run's worker (``PYTEST_XDIST_WORKER``, the ``worker_id`` and ``testrun_uid``
fixtures), and each test's body held back to its moment only once its module's fixtures are
set up. Real fork and subprocess trials on a generated suite."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from suitegen import write

from isoscan.execution.argv import Suite
from isoscan.model.status import Command, RunPurpose
from isoscan.store.db import Store
from isoscan.trials.factory import make_trials
from isoscan.trials.lanes import Lane

# Real concurrent replays: `timing`, run one at a time in a pytest process of their own (make test).
pytestmark = pytest.mark.timing

SAY = """
import json
import os
import time

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "said")


def say(name, worker_id, testrun_uid):
    body = time.time()
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{name}-{os.getpid()}-{body!r}.json"), "w") as f:
        json.dump({"name": name, "pid": os.getpid(), "body": body, "worker_id": worker_id,
                   "uid": testrun_uid, "env": os.environ.get("PYTEST_XDIST_WORKER"),
                   "count": os.environ.get("PYTEST_XDIST_WORKER_COUNT")}, f)
"""

LEFT = """
import time

import pytest

from say import say


@pytest.fixture(scope="module")
def slow_module():
    time.sleep(0.6)  # set up before the body's moment is waited for
    yield


def test_left(slow_module, worker_id, testrun_uid):
    say("left", worker_id, testrun_uid)
"""

RIGHT = """
from say import say


def test_right(worker_id, testrun_uid):
    say("right", worker_id, testrun_uid)
"""

REPLAYS = 3


@pytest.mark.parametrize("fork", [True, False], ids=["fork", "subprocess"])
def test_each_lane_is_a_process_of_its_own_with_its_xdist_worker_id(
        tmp_path: Path, fork: bool) -> None:
    root = write(tmp_path / "suite", {"say.py": SAY, "tests/test_left.py": LEFT,
                                      "tests/test_right.py": RIGHT})
    store = Store(tmp_path / "store")
    suite = Suite(paths=("tests",), cwd=root, timeout=20)
    session = store.begin_suite_session(Command.BISECT, suite)
    runner = make_trials(suite, store, session, RunPurpose.BISECT, fork)
    lanes = [Lane(("tests/test_left.py::test_left",), (0.0,), "gw2"),
             Lane(("tests/test_right.py::test_right",), (0.0,), "gw0")]
    try:
        for _ in range(REPLAYS):
            outcome = runner.run_concurrent(lanes, None, workers=3)
            assert outcome.exit_code == 0, outcome
    finally:
        runner.close()
    said = [json.loads(p.read_text()) for p in sorted((root / "said").iterdir())]
    assert len(said) == 2 * REPLAYS
    by_pid: dict[int, set[str]] = {}
    for entry in said:
        by_pid.setdefault(entry["pid"], set()).add(entry["name"])
    # A process per lane per replay, none of them isoscan's own.
    assert len(by_pid) == 2 * REPLAYS and os.getpid() not in by_pid
    for entry in said:
        worker = "gw2" if entry["name"] == "left" else "gw0"
        assert (entry["worker_id"], entry["env"], entry["count"]) == (worker, worker, "3")
    # One run id per replay, the same in both of its lanes, as xdist gives one per run.
    uids = {entry["uid"] for entry in said}
    assert len(uids) == REPLAYS and all(uids)
    # Both bodies were due at the same moment; the left lane's 0.6 s module fixture was set
    # up before that moment was waited for. Timing rule: the bodies begin within 0.25 s of
    # each other in at least 2 of the 3 replays (held at the test's start, as before, they
    # were 0.6 s apart every time).
    gaps = []
    for uid in uids:
        bodies = {e["name"]: e["body"] for e in said if e["uid"] == uid}
        gaps.append(abs(bodies["left"] - bodies["right"]))
    assert sum(gap < 0.25 for gap in gaps) >= 2, gaps
