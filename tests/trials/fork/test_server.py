"""The fork server's children are sessions of the suite's own: the suite's session hooks run
per child in order, and ``config.cache`` is what a fresh pytest per trial would see."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from isoscan.execution.argv import Suite
from isoscan.model.outcomes import Outcome
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.fork.client import ForkTrials
from isoscan.trials.subprocess_trials import SubprocessTrials

# Counts sessions in the cache, and what the tests write there: each trial must see only what
# pytest_configure wrote (as a fresh pytest with an empty cache of its own sees), never the
# fork server's own session nor an earlier trial.
CONFTEST = """
    def pytest_configure(config):
        config.cache.set("suite/configured", True)

    def pytest_sessionstart(session):
        cache = session.config.cache
        cache.set("suite/sessions", cache.get("suite/sessions", 0) + 1)

    def pytest_sessionfinish(session, exitstatus):
        with open("hooks.log", "a") as log:
            log.write(f"finish {session.config.cache.get('suite/sessions', 0)}\\n")
"""
TESTS = """
    def test_sees_one_session(request):
        cache = request.config.cache
        assert cache.get("suite/configured", False) is True
        assert cache.get("suite/sessions", None) == 1
        assert cache.get("suite/written", None) is None

    def test_writes(request):
        request.config.cache.set("suite/written", "by an earlier trial")
"""
SEES = "test_cache.py::test_sees_one_session"
WRITES = "test_cache.py::test_writes"


@pytest.fixture
def suite(tmp_path: Path) -> Suite:
    root = tmp_path / "suite"
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (root / "test_cache.py").write_text(textwrap.dedent(TESTS))
    return Suite(cwd=root)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "store")
    yield opened
    opened.close()


@pytest.mark.parametrize("kind", [ForkTrials, SubprocessTrials])
def test_each_trial_sees_the_cache_a_fresh_session_sees(
        suite: Suite, store: Store, kind: type[ForkTrials] | type[SubprocessTrials]) -> None:
    session = store.begin_session("test", suite.cwd, [], [], None, None)
    runner: TrialRunner = kind(suite, store, session, "confirm")
    try:
        outcomes = [runner.run(order).outcomes for order in
                    ([SEES], [WRITES, SEES], [SEES], [WRITES], [SEES])]
    finally:
        runner.close()
    assert outcomes == [
        {SEES: Outcome.PASSED},
        {WRITES: Outcome.PASSED, SEES: Outcome.FAILED},  # its own session's write: seen
        {SEES: Outcome.PASSED},  # not the earlier trial's
        {WRITES: Outcome.PASSED},
        {SEES: Outcome.PASSED},
    ]
    assert runner.mode.value == ("fork" if kind is ForkTrials else "subprocess")
    # Every trial's session finish ran after its own session start, once each.
    lines = (suite.cwd / "hooks.log").read_text().splitlines()
    trials = lines[1:-1] if kind is ForkTrials else lines  # the server's own two sessions
    assert trials == ["finish 1"] * 5
    if kind is ForkTrials:  # the server's session, ended before the first fork; its last
        assert lines[0] == "finish 1"  # session start (at exit) is its cache's second
        assert lines[-1] == "finish 2"
