"""isoscan's pytest plugin: records the exact order tests ran in, and replays a given order.

Found by pytest through the ``pytest11`` entry point (``pytest_entry.py``), or loaded with
``-p isoscan.plugin`` (isoscan's own command lines); inert unless one of its ``--isoscan-*``
options is given.
It imports nothing heavy because it loads into every pytest process and xdist worker.
"""

from __future__ import annotations

import json
import os
import time
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from isoscan.execution import records
from isoscan.execution.schedule import Schedule, common_start, wait_until
from isoscan.model.outcomes import Outcome

if TYPE_CHECKING:
    from collections.abc import Generator

    from isoscan.resources import ResourceTracker

NODEID_PROPERTY = records.NODEID_PROPERTY
RECORD_INI = "isoscan_record"
# The key under which an xdist controller hands its run token to each worker it starts.
RUN_KEY = "isoscan_run"
# Set when this process started the assertion-rewriting helper (``prerewrite.py``).
PREREWRITING = pytest.StashKey[bool]()
PACER = "isoscan-pacer"
# Set by isoscan in a subprocess lane of a concurrent replay: its index in the schedule.
LANE_ENV = "ISOSCAN_LANE"


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
        config.pluginmanager.register(Pacer(schedule), PACER)
    timeouts = config.getoption("isoscan_timeouts")
    if timeouts:
        from isoscan.execution.timeout_marks import TimeoutMarks
        from isoscan.execution.timeouts import read_timeouts

        config.pluginmanager.register(
            TimeoutMarks(read_timeouts(invocation_path(config, timeouts))), "isoscan-timeouts")


def record_dir_of(config: pytest.Config) -> Path | None:
    """Where this run records: ``--isoscan-record``, else the ini option ``isoscan_record``
    (relative to the ini file, as a path in an ini file reads), else nowhere."""
    option = config.getoption("isoscan_record")
    if option:
        return invocation_path(config, option)
    value = str(config.getini(RECORD_INI) or "").strip()
    if not value:
        return None
    path = Path(value)
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return path if path.is_absolute() else base / path


def invocation_path(config: pytest.Config, value: str) -> Path:
    """A path option as the user meant it: relative to where pytest was started, even after
    a conftest changed the working directory at import time."""
    path = Path(value)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


class Orderer:
    """Puts the collected items in the requested order and deselects the rest."""

    def __init__(self, config: pytest.Config) -> None:
        order_file = config.getoption("isoscan_order")
        self.wanted = (records.read_order_file(invocation_path(config, order_file))
                       if order_file else None)
        self.reverse: bool = config.getoption("isoscan_reverse")
        self.missing: list[str] = []

    # trylast: runs after pytest-randomly and any other reordering plugin, so the order is ours.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if self.wanted is None:
            items.reverse()
            return
        by_id: dict[str, list[pytest.Item]] = {}
        for item in items:
            by_id.setdefault(item.nodeid, []).append(item)
        chosen: list[pytest.Item] = []
        for nodeid in self.wanted:
            candidates = by_id.get(nodeid)
            if candidates:
                chosen.append(candidates.pop(0))
            else:
                self.missing.append(nodeid)
        kept = {id(item) for item in chosen}
        deselected = [item for item in items if id(item) not in kept]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = chosen

    def pytest_report_header(self) -> str:
        source = "reversed" if self.wanted is None else f"{len(self.wanted)} ids from order file"
        return f"isoscan: order = {source}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.missing:
            terminalreporter.write_line(
                f"isoscan: {len(self.missing)} id(s) in the order file were not collected, "
                f"first: {self.missing[0]}"
            )


class ClassOrder:
    """``--isoscan-keep-class-order``: whatever order pytest-randomly, ``--isoscan-reverse`` or
    an order file makes, each class's methods run in their collected order, in the places the
    class's methods took (for suites whose classes depend on their own method order).
    Registered after pytest-randomly's wrapper and, like it, tryfirst: the outermost wrapper,
    so it sees the collected order first and has the last word after randomly shuffles."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]
                                      ) -> Generator[None, None, None]:
        rank = {id(item): at for at, item in enumerate(items)}  # before anyone reorders
        yield
        places: dict[int, list[int]] = {}
        for at, item in enumerate(items):
            if isinstance(item, pytest.Function) and item.cls is not None \
                    and item.parent is not None:
                places.setdefault(id(item.parent), []).append(at)
        for slots in places.values():
            methods = sorted((items[at] for at in slots), key=lambda i: rank.get(id(i), 0))
            for at, item in zip(slots, methods, strict=True):
                items[at] = item


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

    def __init__(self, schedule: Schedule | None) -> None:
        self.schedule = schedule
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
            self.start = common_start(self.schedule)
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


class Recorder:
    """Writes one JSON line per event, flushed at once, so a killed process still tells
    which test it was running."""

    def __init__(self, config: pytest.Config, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", records.MAIN)
        self.stream: LineSink | None = None
        self.stream_pid = os.getpid()
        self.outcomes: dict[str, Outcome] = {}
        self.durations: dict[str, float] = {}
        self.messages: dict[str, str] = {}
        self.active = True
        self.track_resources = False
        # Only isoscan's own runs, which read their JUnit XML back: a run that is only
        # recorded (a CI job's) keeps its JUnit XML exactly as pytest writes it.
        self.junit_ids = bool(config.getoption("isoscan_junit_ids"))
        self._tracker: ResourceTracker | None = None
        self._item: pytest.Item | None = None
        self._body: float | None = None  # when the running test's body began (``Pacer``)
        self._ignored_dir: Path | None = None
        # One token for the whole run, in every process's hello: a serial run makes its own;
        # an xdist controller makes one and hands it to each worker it starts, a worker that
        # replaces a crashed one too (``pytest_configure_node``).
        workerinput = getattr(config, "workerinput", None)
        given = workerinput.get(RUN_KEY) if isinstance(workerinput, dict) else None
        self.run = given if isinstance(given, str) else os.urandom(8).hex()
        # The run's first process (serial, or the xdist controller) names the commit, so a
        # replay elsewhere (``bisect --from``) can tell another checkout. Once, here: a fork
        # server's children each record a hello, and must not each start git.
        self.git_head: str | None = None
        if self.worker == records.MAIN:
            from isoscan.execution.git import git_head

            self.git_head = git_head(config.rootpath)

    def _emit(self, event: dict[str, Any]) -> None:
        self._write(_encode(event) + "\n")

    def _write(self, line: str) -> None:
        if self.stream is not None and self.stream_pid != os.getpid():
            # A forked child (a test's own fork, or a trial): its events get their own file.
            self.stream = None
        if self.stream is None:
            self.stream_pid = os.getpid()
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"{self.worker}-{os.getpid()}{records.SUFFIX}"
            self.stream = AppendFile(self.directory / name)
        self.stream.write(line)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Under xdist the controller only relays the workers' events; the workers record.
        self.active = not self.config.pluginmanager.has_plugin("dsession")
        seed = getattr(self.config.option, "randomly_seed", None)
        role = "controller" if not self.active else "runner"
        event: dict[str, Any] = {
            "e": records.HELLO,
            "worker": self.worker,
            "pid": os.getpid(),
            "role": role,
            "seed": seed if isinstance(seed, int) else None,
            "t": time.time(),
            "run": self.run,
            "workers": _worker_count(self.config, not self.active),
        }
        if self.worker == records.MAIN:
            event["git"] = self.git_head
        self._emit(event)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist, in the controller, before it starts a worker: the worker's events carry this
        run's token."""
        node.workerinput[RUN_KEY] = self.run

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        orderer = self.config.pluginmanager.get_plugin("isoscan-orderer")
        missing = orderer.missing if isinstance(orderer, Orderer) else []
        event: dict[str, Any] = {"e": records.COLLECTED, "ids": [i.nodeid for i in session.items]}
        if missing:
            event["missing"] = missing
        if self.config.stash.get(PREREWRITING, False):
            from isoscan.execution import prerewrite
            # Collected: a module imported from here on is pytest's own to rewrite.
            event["prerewritten"] = prerewrite.stop(self.config)
        self._emit(event)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._item = item

    # Not tryfirst: after the Pacer has held the body back to its moment.
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any]) -> None:
        if self._body is None and fixturedef.scope == "function":
            self._body = time.time()

    def pytest_runtest_call(self) -> None:
        if self._body is None:
            self._body = time.time()

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._body = None
        if self.active:
            # The line json.dumps would make, at a third of its cost: two of these per test.
            self._write(f'{{"e": "{records.START}", "id": {_string(nodeid)}, '
                        f'"t": {time.time()!r}}}\n')
            if self.track_resources:
                self._tracker_for_tests().start()

    def _tracker_for_tests(self) -> ResourceTracker:
        if self._tracker is None:
            from isoscan.resources import ResourceTracker

            self._tracker = ResourceTracker()
        if self.directory != self._ignored_dir:  # a fork server's child writes elsewhere
            # isoscan's own files are not the test's. (A test's tmp_path needs no rule: it
            # is unique to the test, so it is never shared with another.)
            self._tracker.add_ignored(self.directory)
            self._ignored_dir = self.directory
            # Nor the lanes' barrier, which the Pacer uses inside the test's setup.
            pacer = self.config.pluginmanager.get_plugin(PACER)
            if isinstance(pacer, Pacer) and pacer.schedule is not None:
                self._tracker.add_ignored(pacer.schedule.barrier)
        return self._tracker

    def _touched(self, nodeid: str) -> list[list[str]]:
        """What the test that just finished touched, as the event's ``r`` field."""
        if self._tracker is None or not self._tracker.tracking:
            return []
        touched = self._tracker.stop()
        item = self._item
        if item is not None and item.nodeid == nodeid:
            from isoscan.resources.hooks import declared_for

            touched += declared_for(self.config, item)
        return [resource.to_json() for resource in sorted(set(touched))]

    # tryfirst: before the JUnit XML writer (and an xdist worker's sending of the report).
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.active:
            return
        nodeid = report.nodeid
        if self.junit_ids and report.when == "teardown":
            # Carries the exact node id into the JUnit XML (which takes the properties of the
            # teardown report), where classname/name lose it; on the report only, so the test
            # never sees it in its own ``user_properties``.
            report.user_properties.append((NODEID_PROPERTY, nodeid))
        self.durations[nodeid] = self.durations.get(nodeid, 0.0) + report.duration
        if report.passed:
            return  # a passed phase never changes the test's outcome: it is the least severe
        current = self.outcomes.get(nodeid, Outcome.PASSED)
        new = _phase_outcome(report)
        if records.severity(new) > records.severity(current):
            self.outcomes[nodeid] = new
            if report.failed:
                message = _short_message(report)
                if report.when != "call":  # worded as pytest's JUnit XML words it
                    message = f'failed on {report.when} with "{message}"'
                self.messages[nodeid] = message
        else:
            self.outcomes[nodeid] = current

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        if not self.active:
            return
        outcome = _string(self.outcomes.pop(nodeid, Outcome.PASSED).value)
        duration = round(self.durations.pop(nodeid, 0.0), 6)
        line = (f'{{"e": "{records.FINISH}", "id": {_string(nodeid)}, "t": {time.time()!r}, '
                f'"o": {outcome}, "d": {duration!r}')
        if self._body is not None:  # "b": its body began, broad fixtures set up
            line += f', "b": {self._body!r}'
        message = self.messages.pop(nodeid, "")
        if message:
            line += ', "m": ' + _string(message)
        touched = self._touched(nodeid)
        if touched:
            line += ', "r": ' + _encode(touched)
        self._write(line + "}\n")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._emit({"e": records.END, "status": int(exitstatus), "t": time.time()})
        if self.stream is not None:
            self.stream.close()
            self.stream = None


class LineSink(Protocol):
    """Where the Recorder writes its event lines (a fork server's child writes elsewhere):
    each ``write`` must reach the file before it returns, as nothing is ever flushed."""

    def write(self, text: str, /) -> int: ...
    def close(self) -> None: ...


class AppendFile:
    """An event file open for appending: each line is one ``os.write``, so nothing waits in a
    buffer for a process that is killed right after, and a line is only cut short if the
    process dies inside that one call."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        while data:  # one call writes all of it to a file, short of a full disk
            data = data[os.write(self.fd, data):]
        return len(text)

    def close(self) -> None:
        os.close(self.fd)


# One encoder for every event: json.dumps with a non-default option builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode
_string = encode_basestring  # a JSON string, as json.dumps(..., ensure_ascii=False) makes it


def _worker_count(config: pytest.Config, controller: bool) -> int:
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")  # set by xdist in each worker
    if count.isdigit():
        return int(count)
    specs = getattr(config.option, "tx", None)  # the controller: one --tx spec per worker
    return len(specs) if controller and isinstance(specs, list) else 0


def _phase_outcome(report: pytest.TestReport) -> Outcome:
    if report.passed:
        return Outcome.PASSED
    if report.skipped:
        return Outcome.SKIPPED
    if report.when != "call":
        return Outcome.ERROR
    timeout = records.is_timeout_message(_short_message(report))
    return Outcome.TIMEOUT if timeout else Outcome.FAILED


def _short_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    text = message if isinstance(message, str) else str(report.longrepr)
    return text.strip().splitlines()[0][:300] if text.strip() else ""
