"""Recording a run (``--isoscan-record DIR``, ini ``isoscan_record``): per process or xdist
worker, the order tests ran in with wall times, outcomes and messages, the seed and worker
count, and with ``--isoscan-resources`` what each test touched; one ``os.write`` per line."""

from __future__ import annotations

import json
import os
import time
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from isoscan.execution import records
from isoscan.model.outcomes import Outcome

if TYPE_CHECKING:

    from isoscan.resources import ResourceTracker

from isoscan.plugin.names import NODEID_PROPERTY, PACER, PREREWRITING, RUN_KEY
from isoscan.plugin.orderer import Orderer
from isoscan.plugin.pacer import Pacer

# One encoder for every event: json.dumps with a non-default option builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode
_string = encode_basestring  # a JSON string, as json.dumps(..., ensure_ascii=False) makes it



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
