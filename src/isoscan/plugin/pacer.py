"""A lane of a concurrent replay (``--isoscan-schedule FILE``): each test's body held until its
moment in the timetable, and the lane run as the xdist worker it replays."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

from isoscan.execution.schedule import Schedule, common_start, wait_until

if TYPE_CHECKING:

    pass



class Pacer:
    """Holds each test back until its moment in a concurrent replay (``schedule.py``); inert
    while ``schedule`` is None (the fork server registers one and sets it per child).

    The moment is that of the test's *body*: after its session-, package-, module- and
    class-scoped fixtures are set up, before its first function-scoped one (or its call).
    That is what the Recorder's ``b`` times measure, so a lane that must set up a session
    fixture the recorded worker had set up long before does not start the test late. The
    lanes' common start is taken at the first test's body, once each lane's first broad
    fixtures are set up, as xdist's workers all start their first tests after their own
    session setup."""

    def __init__(self, schedule: Schedule | None, lane: int | None = None) -> None:
        self.schedule = schedule
        self.lane = lane  # this lane's index in the schedule: which group's start it waits for
        self.start: float | None = None
        self.held: str | None = None  # the node id whose body was last held back

    @pytest.hookimpl(tryfirst=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any],
                             request: pytest.FixtureRequest) -> None:
        if self.schedule is not None and fixturedef.scope == "function":
            self._hold(request.node.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        if self.schedule is not None:
            self._hold(item.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        # A test whose setup failed or skipped never reached its body: the lane still
        # joins the common start, so the other lanes do not wait for it in vain.
        self._join()

    def _hold(self, nodeid: str) -> None:
        if self.held == nodeid:
            return
        self.held = nodeid
        start = self._join()
        assert self.schedule is not None
        offset = self.schedule.at.get(nodeid)
        if offset is not None and start is not None:
            wait_until(start + offset)

    def _join(self) -> float | None:
        if self.schedule is not None and self.start is None:
            self.start = common_start(self.schedule, self.lane)
        return self.start

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ready_without_tests(session.items)

    def ready_without_tests(self, items: list[pytest.Item]) -> None:
        """A lane left with no test (its ids no longer collect) still says it is ready, so
        the other lanes do not wait for it until the barrier gives up."""
        if not items:
            self._join()


def act_as_xdist_worker(config: pytest.Config, worker: str, count: int, run_uid: str) -> None:
    """What xdist gives a worker process before its session (``xdist/remote.py``): the
    environment variables, and the ``workerinput`` its ``worker_id`` and ``testrun_uid``
    fixtures read. A lane of a concurrent replay is one of the recorded run's workers."""
    import random
    import sys

    os.environ["PYTEST_XDIST_WORKER"] = worker
    os.environ["PYTEST_XDIST_WORKER_COUNT"] = str(count)
    os.environ["PYTEST_XDIST_TESTRUNUID"] = run_uid
    workerinput: dict[str, Any] = {"workerid": worker, "workercount": count,
                                   "testrunuid": run_uid, "mainargv": list(sys.argv)}
    # pytest-randomly's workers take the controller's resolved seed; unseeded, it would
    # have drawn one at random itself.
    seed = getattr(config.option, "randomly_seed", None)
    workerinput["randomly_seed"] = seed if isinstance(seed, int) else random.getrandbits(32)
    config.workerinput = workerinput  # type: ignore[attr-defined]
    if not hasattr(config, "workeroutput"):
        config.workeroutput = {}  # type: ignore[attr-defined]
