"""isoscan's pytest plugin: records the exact order tests ran in, and replays a given order.

Loaded with ``-p isoscan.plugin``; inert unless one of its ``--isoscan-*`` options is given.
It imports nothing heavy because it loads into every pytest process and xdist worker.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest

from isoscan.execution import records
from isoscan.execution.schedule import Schedule, common_start, wait_until

if TYPE_CHECKING:
    from isoscan.resources import ResourceTracker

NODEID_PROPERTY = records.NODEID_PROPERTY
# Set when this process started the assertion-rewriting helper (``prerewrite.py``).
PREREWRITING = pytest.StashKey[bool]()
PACER = "isoscan-pacer"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("isoscan", "isoscan order recording and replay")
    group.addoption(
        "--isoscan-record",
        metavar="DIR",
        default=None,
        help="append per-process start/finish events of every test to DIR/<worker>-<pid>.jsonl",
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


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from isoscan.resources import hooks

    pluginmanager.add_hookspecs(hooks)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """A recorded run (``isoscan seeds``) rewrites its test modules' asserts on a second core
    while the conftests import (``prerewrite.py``); not under xdist, whose workers already
    collect side by side on every core."""
    record_dir = getattr(early_config.known_args_namespace, "isoscan_record", None)
    if record_dir and not _under_xdist(early_config):
        from isoscan.execution import prerewrite
        # In the run's own folder: isoscan keeps it, and reads only the event files there.
        scratch = invocation_path(early_config, record_dir)
        scratch.mkdir(parents=True, exist_ok=True)
        early_config.stash[PREREWRITING] = prerewrite.start(early_config, scratch) is not None


def _under_xdist(config: pytest.Config) -> bool:
    workers = getattr(config.known_args_namespace, "numprocesses", None)
    return bool(os.environ.get("PYTEST_XDIST_WORKER")) or workers not in (None, 0, "0")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("isoscan_order") or config.getoption("isoscan_reverse"):
        config.pluginmanager.register(Orderer(config), "isoscan-orderer")
    record_dir = config.getoption("isoscan_record")
    if record_dir:
        recorder = Recorder(config, invocation_path(config, record_dir))
        recorder.track_resources = bool(config.getoption("isoscan_resources"))
        config.pluginmanager.register(recorder, "isoscan-recorder")
    schedule = config.getoption("isoscan_schedule")
    if schedule:
        config.pluginmanager.register(
            Pacer(Schedule.read(invocation_path(config, schedule))), PACER)


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


class Pacer:
    """Holds each test back until its moment in a concurrent replay (``schedule.py``); inert
    while ``schedule`` is None (the fork server registers one and sets it per child)."""

    def __init__(self, schedule: Schedule | None) -> None:
        self.schedule = schedule
        self.start: float | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        if self.schedule is None:
            return
        if self.start is None:  # the first test: all lanes start from one instant
            self.start = common_start(self.schedule)
        offset = self.schedule.at.get(item.nodeid)
        if offset is not None:
            wait_until(self.start + offset)


class Recorder:
    """Writes one JSON line per event, flushed at once, so a killed process still tells
    which test it was running."""

    def __init__(self, config: pytest.Config, directory: Path) -> None:
        self.config = config
        self.directory = directory
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", records.MAIN)
        self.stream: IO[str] | None = None
        self.stream_pid = os.getpid()
        self.outcomes: dict[str, str] = {}
        self.durations: dict[str, float] = {}
        self.messages: dict[str, str] = {}
        self.active = True
        self.track_resources = False
        self._tracker: ResourceTracker | None = None
        self._item: pytest.Item | None = None
        self._ignored_dir: Path | None = None

    def _emit(self, event: dict[str, Any]) -> None:
        if self.stream is not None and self.stream_pid != os.getpid():
            # A forked child (a test's own fork, or a trial): its events get their own file.
            self.stream = None
        if self.stream is None:
            self.stream_pid = os.getpid()
            self.directory.mkdir(parents=True, exist_ok=True)
            name = f"{self.worker}-{os.getpid()}{records.SUFFIX}"
            self.stream = open(self.directory / name, "a", encoding="utf-8")  # noqa: SIM115
        self.stream.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.stream.flush()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Under xdist the controller only relays the workers' events; the workers record.
        self.active = not self.config.pluginmanager.has_plugin("dsession")
        seed = getattr(self.config.option, "randomly_seed", None)
        role = "controller" if not self.active else "runner"
        self._emit(
            {
                "e": records.HELLO,
                "worker": self.worker,
                "pid": os.getpid(),
                "role": role,
                "seed": seed if isinstance(seed, int) else None,
                "t": time.time(),
            }
        )

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
        # Carries the exact node id into the JUnit XML, where classname/name lose it.
        item.user_properties.append((NODEID_PROPERTY, item.nodeid))
        self._item = item

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        if self.active:
            self._emit({"e": records.START, "id": nodeid, "t": time.time()})
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

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.active:
            return
        nodeid = report.nodeid
        self.durations[nodeid] = self.durations.get(nodeid, 0.0) + report.duration
        current = self.outcomes.get(nodeid, "passed")
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
        event: dict[str, Any] = {
            "e": records.FINISH,
            "id": nodeid,
            "t": time.time(),
            "o": self.outcomes.pop(nodeid, "passed"),
            "d": round(self.durations.pop(nodeid, 0.0), 6),
        }
        message = self.messages.pop(nodeid, "")
        if message:
            event["m"] = message
        touched = self._touched(nodeid)
        if touched:
            event["r"] = touched
        self._emit(event)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._emit({"e": records.END, "status": int(exitstatus), "t": time.time()})
        if self.stream is not None:
            self.stream.close()
            self.stream = None


def _phase_outcome(report: pytest.TestReport) -> str:
    if report.passed:
        return "passed"
    if report.skipped:
        return "skipped"
    if report.when != "call":
        return "error"
    return "timeout" if records.is_timeout_message(_short_message(report)) else "failed"


def _short_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    text = message if isinstance(message, str) else str(report.longrepr)
    return text.strip().splitlines()[0][:300] if text.strip() else ""
