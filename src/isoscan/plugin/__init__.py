"""isoscan's pytest plugin. Found by pytest through the ``pytest11`` entry point
(``pytest_entry.py``), or loaded with ``-p isoscan.plugin`` (isoscan's own command lines); inert
unless one of its ``--isoscan-*`` options is given. This module declares the options and, in
``pytest_configure``, registers only the parts they ask for:

- ``recorder``: records a run, per process or xdist worker (``--isoscan-record DIR``, ini
  ``isoscan_record``), with what each test touched (``--isoscan-resources``);
- ``orderer``: runs an exact order (``--isoscan-order``, ``--isoscan-reverse``), and keeps each
  class's methods in order (``--isoscan-keep-class-order``);
- ``pacer``: a lane of a concurrent replay (``--isoscan-schedule``), run as its xdist worker;
- the early timeout bounds (``--isoscan-timeouts``), the assertion-rewriting helper
  (``--isoscan-prerewrite``) and the resources hook-spec (``pytest_isoscan_resources``).

It imports nothing heavy because it loads into every pytest process and xdist worker.
"""

from __future__ import annotations

import os

import pytest

from isoscan.execution.schedule import Schedule
from isoscan.plugin.names import (
    LANE_ENV,
    PACER,
    PREREWRITING,
    RECORD_INI,
    invocation_path,
    record_dir_of,
)
from isoscan.plugin.orderer import ClassOrder, Orderer
from isoscan.plugin.pacer import Pacer, act_as_xdist_worker
from isoscan.plugin.recorder import Recorder


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("isoscan", "isoscan order recording and replay")
    group.addoption(
        "--isoscan-record",
        metavar="DIR",
        default=None,
        help="record the run: per process/xdist worker, the order tests ran in, with start and "
             "finish times and outcomes, the seed and the worker count, appended to "
             "DIR/<worker>-<pid>.jsonl (for `isoscan bisect VICTIM --from DIR`)",
    )
    parser.addini(
        RECORD_INI,
        default="",
        help="as --isoscan-record: the folder to record every run into, relative to the ini "
             "file's folder (the command line option wins; empty: no recording)",
    )
    group.addoption(
        "--isoscan-junit-ids",
        action="store_true",
        default=False,
        help="internal to isoscan: with --isoscan-record, give each test's JUnit XML entry a "
             "property isoscan_nodeid, its exact node id",
    )
    group.addoption(
        "--isoscan-prerewrite",
        action="store_true",
        default=False,
        help="internal to isoscan: rewrite the test modules' asserts on a second core while the "
             "conftests import (not under xdist)",
    )
    group.addoption(
        "--isoscan-order",
        metavar="FILE",
        default=None,
        help="run exactly the node ids listed in FILE (one per line), in that order",
    )
    group.addoption(
        "--isoscan-reverse",
        action="store_true",
        default=False,
        help="run the collected tests in reverse order",
    )
    group.addoption(
        "--isoscan-keep-class-order",
        action="store_true",
        default=False,
        help="whatever the order, run each class's methods in their collected order",
    )
    group.addoption(
        "--isoscan-schedule",
        metavar="FILE",
        default=None,
        help="hold each test back until its moment in FILE, a concurrent replay's timetable",
    )
    group.addoption(
        "--isoscan-resources",
        action="store_true",
        default=False,
        help="with --isoscan-record: also record the files, databases, ports and declared "
             "resources each test touches (Python audit hooks)",
    )
    group.addoption(
        "--isoscan-timeouts",
        metavar="FILE",
        default=None,
        help="per-test timeouts: a JSON object of node id -> seconds, applied as "
             "pytest.mark.timeout marks (isoscan's early bounds for tests that hung before)",
    )


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from isoscan.resources import hooks

    pluginmanager.add_hookspecs(hooks)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """isoscan's own recorded runs (``isoscan seeds``, subprocess trials) rewrite their test
    modules' asserts on a second core while the conftests import (``prerewrite.py``); not under
    xdist, whose workers already collect side by side on every core. A run that is only
    recorded (a CI job's) does nothing but record: isoscan asks for the helper on its own
    command lines."""
    namespace = early_config.known_args_namespace
    record_dir = getattr(namespace, "isoscan_record", None)
    if (getattr(namespace, "isoscan_prerewrite", False) and record_dir
            and not _under_xdist(early_config)):
        from isoscan.execution import prerewrite
        # In the run's own folder: isoscan keeps it, and reads only the event files there.
        scratch = invocation_path(early_config, record_dir)
        scratch.mkdir(parents=True, exist_ok=True)
        early_config.stash[PREREWRITING] = prerewrite.start(early_config, scratch) is not None


def _fork_server(config: pytest.Config) -> bool:
    """A fork server's session (``trials/fork/server.py``): its children may track."""
    try:
        return bool(config.getoption("isoscan_forkserver"))
    except ValueError:
        return False


def _under_xdist(config: pytest.Config) -> bool:
    workers = getattr(config.known_args_namespace, "numprocesses", None)
    return bool(os.environ.get("PYTEST_XDIST_WORKER")) or workers not in (None, 0, "0")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("isoscan_order") or config.getoption("isoscan_reverse"):
        config.pluginmanager.register(Orderer(config), "isoscan-orderer")
    if config.getoption("isoscan_keep_class_order"):
        config.pluginmanager.register(ClassOrder(), "isoscan-class-order")
    record_dir = record_dir_of(config)
    if record_dir is not None:
        recorder = Recorder(config, record_dir)
        recorder.track_resources = bool(config.getoption("isoscan_resources"))
        config.pluginmanager.register(recorder, "isoscan-recorder")
        if recorder.track_resources or _fork_server(config):
            from isoscan.resources.audit import prepare

            # Only where tests will be tracked: sqlite3 connections opened before the first
            # tracked test (at import, in collection) get their statement trace too.
            prepare()
    schedule_file = config.getoption("isoscan_schedule")
    if schedule_file:
        schedule = Schedule.read(invocation_path(config, schedule_file))
        lane = os.environ.get(LANE_ENV, "")
        worker = schedule.worker_of(int(lane)) if lane.isdigit() else ""
        if worker and not hasattr(config, "workerinput"):
            act_as_xdist_worker(config, worker, schedule.worker_count, schedule.run_uid)
        config.pluginmanager.register(Pacer(schedule, int(lane) if lane.isdigit() else None),
                                      PACER)
    timeouts = config.getoption("isoscan_timeouts")
    if timeouts:
        from isoscan.execution.timeout_marks import TimeoutMarks
        from isoscan.execution.timeouts import read_timeouts

        config.pluginmanager.register(
            TimeoutMarks(read_timeouts(invocation_path(config, timeouts))), "isoscan-timeouts")




