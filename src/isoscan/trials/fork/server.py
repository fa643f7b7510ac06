"""isoscan's fork server: a pytest plugin that imports and collects once, then runs every trial in
a fresh ``os.fork()`` child of the collected session.

Loaded with ``-p isoscan.trials.fork.server --isoscan-forkserver=IN,OUT`` by ``client.py``;
inert without that option. The server takes over ``pytest_runtestloop`` and never runs a test
itself, so every child starts from the same post-collection state: modules imported, conftests
loaded, items collected, no fixture set up. A child runs exactly the requested ids in the
requested order, records them with the ordinary ``Recorder`` of ``isoscan.plugin``, finishes
its session (session fixtures torn down, terminal summary to its own log) and leaves with
``os._exit``, so the parent's atexit handlers and buffered files are never run or flushed twice.

Each child is one whole session as the suite sees it, one after another as separate pytest
processes would be: the server ends its own session for the suite's hooks before the first
fork (the suite's ``pytest_sessionfinish`` right after collection; the suite's
``pytest_sessionstart`` again before the server's own finish at exit), and each child runs
``pytest_sessionstart`` … ``pytest_sessionfinish`` with ``config.cache`` pointed at a cache
of its own, a copy of the server's as its session started (``ChildCache``): the cache every
subprocess trial starts its session with. ``pytest_configure``/``pytest_unconfigure`` stay
the server's: children inherit what configure did, and an unconfigure in a child would undo
it for the next.

The server reaps every child before it reports it ``exited``. SIGTERM from isoscan (an
interrupt) makes it kill and reap its running children and fork no more; closing the request
pipe ends it.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import random
import signal
import sys
import threading
import tokenize
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NoReturn, cast

import pytest
from pluggy import HookCaller

from isoscan.execution import prerewrite
from isoscan.execution.process import kill_group
from isoscan.execution.records import read_order_file
from isoscan.execution.schedule import Schedule, wait_ready
from isoscan.execution.timeout_marks import apply_timeouts
from isoscan.execution.timeouts import read_timeouts
from isoscan.plugin.names import PACER
from isoscan.plugin.orderer import Orderer
from isoscan.plugin.pacer import Pacer, act_as_xdist_worker
from isoscan.plugin.recorder import Recorder
from isoscan.trials.fork.output import (
    ChildLines,
    flush_all,
    output_fds,
    redirect_output,
    redirect_to,
)
from isoscan.trials.fork.protocol import (
    DONE,
    EXITED,
    READY,
    SESSION_FAILED,
    STARTED,
    TrialRequest,
    child_event,
    child_events,
    child_records,
    encode_event,
    lane_log,
    write_all,
)
from isoscan.trials.fork.selection import index_items, select_items, select_one
from isoscan.trials.fork.session import (
    ChildCache,
    child_cache,
    children_sessionfinish,
    stopped_at_start,
    user_hook,
)

ORDERER = "isoscan-orderer"
RECORDER = "isoscan-recorder"
# Seconds at most the lanes of a trial with time to spare wait, unforked, for the others to be
# ready (``_serve``).
HOLD_CAP = 0.5


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("isoscan", "isoscan order recording and replay")
    group.addoption(
        "--isoscan-forkserver",
        metavar="IN,OUT",
        default=None,
        help="internal to isoscan: collect once, then run trials read from file descriptor IN "
        "in forked children, reporting on file descriptor OUT",
    )
    group.addoption(
        "--isoscan-scratch",
        metavar="DIR",
        default=None,
        help="internal to isoscan: a folder for the fork server's own files, which isoscan "
        "removes",
    )


def pytest_configure(config: pytest.Config) -> None:
    spec = config.getoption("isoscan_forkserver")
    if spec:
        requests, events = parse_fds(spec)
        config.pluginmanager.register(ForkServer(config, requests, events), "isoscan-forkserver")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Before the conftests are imported: their import is where a second core idles longest.
    namespace = early_config.known_args_namespace
    if getattr(namespace, "isoscan_forkserver", None):
        scratch = getattr(namespace, "isoscan_scratch", None)
        prerewrite.start(early_config, Path(scratch) if scratch else None)


def parse_fds(spec: str) -> tuple[int, int]:
    first, _, second = spec.partition(",")
    if not (first.isdigit() and second.isdigit()):
        raise pytest.UsageError(f"--isoscan-forkserver takes IN,OUT descriptors, not {spec!r}")
    return int(first), int(second)


class ForkServer:
    def __init__(self, config: pytest.Config, requests_fd: int, events_fd: int) -> None:
        self.config = config
        self.requests: IO[str] = os.fdopen(requests_fd, "r", encoding="utf-8")
        self.events = events_fd  # written with os.write, one whole line at a time
        # The user's own --randomly-dont-reset-seed, if any, holds for seeded trials.
        self.reset_seed = bool(getattr(config.option, "randomly_reset_seed", True))
        self.items: list[pytest.Item] = []
        self.positions: dict[str, list[int]] = {}
        self.orderer: Orderer | None = None
        self.recorder: Recorder | None = None
        self.pacer: Pacer | None = None
        self.running: dict[int, int] = {}  # child pid -> index of its ids in the request
        self.alone_plan: AlonePlan | None = None  # set while an ``alone`` request is served
        self.sessionfinish: HookCaller | None = None  # the children's, once collected
        self.sessionstart: HookCaller | None = None  # ``user_hook`` of session start
        self.user_finish: HookCaller | None = None  # ``user_hook`` of session finish
        scratch = config.getoption("isoscan_scratch")
        self.cache = ChildCache(config, Path(scratch) if scratch else None)
        self.stopping = False

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> object:
        """The server's own session start: when the suite's hooks stop it (``pytest.exit``,
        an error), isoscan hears why before the server ends, so it can run its trials as
        subprocesses instead (each then shows what the suite does)."""
        self.cache.seal()  # as every subprocess trial's cache is when its session starts
        try:
            return (yield)
        except BaseException as exc:
            self._send(SESSION_FAILED, reason=f"{type(exc).__name__}: {exc}")
            raise

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            # As pytest's own loop: nothing runs; isoscan reads the reason in the output.
            count = session.testsfailed
            raise session.Interrupted(f"{count} error{'s' if count != 1 else ''} during collection")
        prerewritten = prerewrite.stop(self.config)  # no helper lives on into a trial
        self.items = list(session.items)
        self.positions = index_items(self.items)
        self._register_trial_plugins()
        manager = self.config.pluginmanager
        self.sessionfinish = children_sessionfinish(manager)
        self.sessionstart = user_hook(manager, "pytest_sessionstart")
        self.user_finish = user_hook(manager, "pytest_sessionfinish")
        self._end_own_session(session)
        threads = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
        self._send(READY, collected=[item.nodeid for item in self.items], threads=threads,
                   prerewritten=prerewritten)
        warm_caches()
        # Children then never touch the parent's objects for garbage collection: fewer copied pages.
        gc.freeze()
        signal.signal(signal.SIGTERM, self._on_terminate)
        try:
            for line in self.requests:  # blocks until the next request; ends when isoscan closes
                if self.stopping:
                    break
                if line.strip():
                    self._serve(session, TrialRequest.decode(line))
        finally:
            for name in (ORDERER, RECORDER, PACER):
                if self.config.pluginmanager.get_plugin(name) is not None:
                    self.config.pluginmanager.unregister(name=name)
            self._reopen_own_session(session)
            self.cache.close()
        return True

    def _end_own_session(self, session: pytest.Session) -> None:
        """Before the first fork, the suite's session-finish hooks end the session the server
        started, as a pytest process that only collected would: the first child then starts
        its session after one that ended (a flag set at start is cleared, a connection opened
        at start is closed, not shared with every child)."""
        if self.user_finish is not None:
            try:
                self.user_finish(session=session, exitstatus=int(pytest.ExitCode.OK))
            except Exception:  # the server's log shows it; each child runs its own finish
                traceback.print_exc()

    def _reopen_own_session(self, session: pytest.Session) -> None:
        """At exit, pytest runs the server's own session finish, every hook of it: the
        suite's session start runs first again, so no finish runs without its start."""
        if self.sessionstart is not None:
            try:
                self.sessionstart(session=session)
            except Exception:
                traceback.print_exc()

    def _register_trial_plugins(self) -> None:
        """Registered once here, after collection, so no child pays for registering plugins;
        they only ever act in the children (the parent runs no test)."""
        self.orderer = Orderer(self.config)
        self.orderer.wanted = []
        self.recorder = Recorder(self.config, Path(os.devnull))
        self.pacer = Pacer(None)
        _register(self.config, self.orderer, ORDERER)
        _register(self.config, self.recorder, RECORDER)
        _register(self.config, self.pacer, PACER)

    def _send(self, kind: str, **fields: object) -> None:
        write_all(self.events, encode_event(kind, **fields).encode("utf-8"))

    def _on_terminate(self, signum: int, frame: object) -> None:
        """isoscan gives up on the request (Ctrl-C): no new child; the running ones are killed
        here and reaped by the loop, so none is left a zombie or an orphan."""
        self.stopping = True
        _kill_groups(self.running)

    def _serve(self, session: pytest.Session, request: TrialRequest) -> None:
        if request.lanes:
            groups = [read_order_file(lane) for lane in request.lanes]
        else:
            wanted = read_order_file(request.order)
            groups = [[nodeid] for nodeid in wanted] if request.alone else [wanted]
        self.alone_plan = alone_plan(session, request) if request.alone else None
        schedule = Schedule.read(request.schedule) if request.schedule else None
        for index, group in enumerate(groups):
            while len(self.running) >= request.jobs:
                self._reap(request)
            if self.stopping:
                break
            if schedule is not None and index and index == schedule.held_from:
                # The lanes with time to spare: forked once the others are ready, so their
                # forks and set-ups do not slow the lanes the trial waits for.
                wait_ready(schedule, range(index), HOLD_CAP)
            pid = self._fork(session, request, group, index)
            self.running[pid] = index
            write_all(self.events, child_event(STARTED, request.trial, pid, index))
        while self.running:
            self._reap(request)
        if self.alone_plan is not None:
            os.close(self.alone_plan.events)
        self._send(DONE, trial=request.trial)

    def _fork(self, session: pytest.Session, request: TrialRequest, wanted: list[str],
              index: int) -> int:
        # Whatever the parent buffered would otherwise be written again by the child.
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._child(session, request, wanted, index)
        # Also set here, so the group exists before isoscan learns the pid and may kill it.
        # Not contextlib.suppress: as few objects touched between forks as can be.
        try:  # noqa: SIM105
            os.setpgid(pid, pid)
        except OSError:
            pass
        return pid

    def _reap(self, request: TrialRequest) -> None:
        running = self.running
        if self.stopping:  # a child forked as the signal came in
            _kill_groups(running)
        # One child: wait for exactly it. Several: any child; one that is not ours (a process
        # the suite started at import time) is reaped and ignored.
        pid, status = os.waitpid(next(iter(running)), 0) if len(running) == 1 else os.wait()
        index = running.pop(pid, None)
        if index is not None:
            write_all(self.events, child_event(EXITED, request.trial, pid, index,
                                                os.waitstatus_to_exitcode(status)))

    def _child(self, session: pytest.Session, request: TrialRequest, wanted: list[str],
               index: int) -> NoReturn:
        status = int(pytest.ExitCode.INTERNAL_ERROR)
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            with contextlib.suppress(OSError):
                os.setpgid(0, 0)  # its own group: a hang kill takes its subprocesses too
            self._close_channels()
            status = self._run_trial(session, request, wanted, index)
        except BaseException:
            with contextlib.suppress(BaseException):
                traceback.print_exc()
        finally:
            flush_all()
            os._exit(status)

    def _close_channels(self) -> None:
        # A child holding the events pipe open would hide the server's death from isoscan.
        for fd in (self.requests.fileno(), self.events):
            with contextlib.suppress(OSError, ValueError):
                os.close(fd)

    def _run_trial(self, session: pytest.Session, request: TrialRequest, wanted: list[str],
                   index: int) -> int:
        """In the child: one whole pytest session over ``wanted``; returns pytest's exit code."""
        if self.alone_plan is not None:
            return self._run_alone(session, request, wanted[0], index, self.alone_plan)
        redirect_output(lane_log(request.lanes[index]) if request.lanes else request.log)
        set_seed_context(session, request.seed, self.reset_seed)
        if request.lanes:
            self._as_worker(request, index)
        try:
            items = self._start_session(session, request, wanted, index)
        except pytest.exit.Exception as exc:
            return stopped_at_start(exc)
        if request.timeouts is not None:  # early bounds for tests that hung before
            apply_timeouts(items, read_timeouts(request.timeouts))
        self._pace(request, items, index)
        if request.snapshot is not None:
            status = snapshot_in_fork(session, self.items, request.snapshot)
        elif request.scan:
            from isoscan.trials.fork.scan_chain import run_scan

            status = run_scan(session, items, request, run_items, self._finish,
                              self._begin_check)
        else:
            status = run_items(session, items)
        return self._finish(session, status)

    def _as_worker(self, request: TrialRequest, index: int) -> None:
        """A lane of a concurrent replay stands for a worker of the recorded xdist run: from
        its session start on, it has that worker's id and environment."""
        assert self.recorder is not None
        schedule = Schedule.read(request.schedule) if request.schedule else None
        worker = schedule.worker_of(index) if schedule is not None else ""
        if schedule is not None and worker:
            act_as_xdist_worker(self.config, worker, schedule.worker_count, schedule.run_uid)
            self.recorder.worker = worker

    def _pace(self, request: TrialRequest, items: list[pytest.Item], index: int) -> None:
        """A lane of a concurrent replay: its timetable (lane ``index`` of it), and what its
        tests touch."""
        assert self.pacer is not None and self.recorder is not None
        schedule = Schedule.read(request.schedule) if request.schedule else None
        self.pacer.schedule = schedule
        self.pacer.lane = index
        self.pacer.start = None
        self.pacer.held = None
        self.recorder.track_resources = request.resources
        self.pacer.ready_without_tests(items)

    def _finish(self, session: pytest.Session, status: int) -> int:
        return finish_session(session, status, self.sessionfinish)

    def _begin_check(self, session: pytest.Session, folder: Path,
                     items: list[pytest.Item]) -> None:
        """In a scan's checkpoint: its own log and record file, and the session start a
        trial of just ``items`` would record."""
        assert self.orderer is not None and self.recorder is not None
        redirect_output(folder / "output.log")
        self.cache.branch(folder / ".pytest_cache")
        self.orderer.wanted, self.orderer.missing = [i.nodeid for i in items], []
        self.recorder.directory = folder / "records"
        self._announce(session, items, [])

    def _start_session(self, session: pytest.Session, request: TrialRequest,
                       wanted: list[str], index: int) -> list[pytest.Item]:
        """What a subprocess does up to its first test: session start (the Recorder's hello),
        selection exactly as ``--isoscan-order`` makes it, collection finish (``collected``)."""
        assert self.orderer is not None and self.recorder is not None
        chosen, deselected, missing = select_items(self.items, self.positions, wanted)
        self.orderer.wanted, self.orderer.missing = wanted, missing
        self.recorder.directory = child_records(request, index)
        self.cache.own(child_cache(request, index))
        _restart_terminal(session)
        if self.sessionstart is not None:
            self.sessionstart(session=session)
        self._announce(session, chosen, deselected)
        return chosen

    def _announce(self, session: pytest.Session, chosen: list[pytest.Item],
                  deselected: list[pytest.Item]) -> None:
        """As a subprocess records and reports its start: the Recorder's hello, the tests left
        out (``pytest_deselected``), then the chosen ones (``collected``)."""
        assert self.recorder is not None
        self.recorder.pytest_sessionstart(session)
        if deselected:
            self.config.hook.pytest_deselected(items=deselected)
        session.items = chosen
        session.testscollected = len(chosen)
        self.recorder.pytest_collection_finish(session)

    def _run_alone(self, session: pytest.Session, request: TrialRequest, nodeid: str,
                   index: int, plan: AlonePlan) -> int:
        """``_run_trial`` for the one test of a child of an ``alone`` request: the same steps,
        with what every child would work out alike taken from the server's ``plan``."""
        redirect_to(request.log, plan.output_fds)
        set_seed_context(session, request.seed, self.reset_seed)
        try:
            items = self._start_alone(session, request, nodeid, index, plan)
        except pytest.exit.Exception as exc:
            return stopped_at_start(exc)
        status = run_items(session, items)
        return self._finish(session, status)

    def _start_alone(self, session: pytest.Session, request: TrialRequest, nodeid: str,
                     index: int, plan: AlonePlan) -> list[pytest.Item]:
        """``_start_session`` for one id."""
        assert self.orderer is not None and self.recorder is not None
        chosen, deselected, missing = select_one(self.items, self.positions, nodeid,
                                                 deselect=plan.deselect)
        self.orderer.wanted, self.orderer.missing = [nodeid], missing
        self.recorder.directory = child_records(request, index)  # for its test's own forks
        self.recorder.stream = cast(IO[str], ChildLines(plan.events, index))
        self.recorder.stream_pid = os.getpid()
        self.cache.own(child_cache(request, index))
        _restart_terminal(session)
        if self.sessionstart is not None:
            self.sessionstart(session=session)
        self._announce(session, chosen, deselected)
        return chosen


@dataclass(frozen=True)
class AlonePlan:
    """What each child of an ``alone`` request (``isoscan isolate``: one test per child, a
    child per test) would otherwise work out again for itself, worked out once by the server
    before it forks them. Per child, that work costs more than the test: every object a child
    touches is a page the kernel copies from the server.

    ``deselect``: whether a child reports the other collected tests to ``pytest_deselected``.
    Not when pytest's terminal reporter is the only plugin that listens, and it would only
    count them for its summary line: every child would touch every item, ~0.5 ms each (a
    subprocess running the test alone does not deselect anything either).
    """

    output_fds: tuple[int, ...]  # descriptors that write to the server's stdout or stderr
    deselect: bool
    events: int  # the request's ``child_events`` file, open for appending
    # ``session.items`` as the server has it. Held here, the list outlives the child's
    # ``session.items = chosen``: freed, it would let go of every item, a copied page each.
    items: list[pytest.Item]


def alone_plan(session: pytest.Session, request: TrialRequest) -> AlonePlan:
    config = session.config
    listeners = {impl.plugin_name for impl in config.hook.pytest_deselected.get_hookimpls()}
    fds = output_fds()
    events = os.open(child_events(request), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    return AlonePlan(fds, deselect=bool(listeners - {"terminalreporter"}), events=events,
                     items=session.items)


def warm_caches() -> None:
    """Fills, once in the parent, the caches every child would otherwise fill again on its
    first failure: formatting a traceback maps every loaded module's file
    (``inspect.getmodule``, a realpath each) and compiles the tokenizer's regular
    expressions, ~20 ms per child. Only caches: what a test sees does not change."""
    try:
        raise AssertionError("isoscan warms pytest's traceback formatting")
    except AssertionError as exc:
        with contextlib.suppress(Exception):
            pytest.ExceptionInfo.from_exception(exc).getrepr(style="long")
    with contextlib.suppress(Exception):
        list(tokenize.generate_tokens(io.StringIO("def f():\n    return 1\n").readline))


def _kill_groups(pids: dict[int, int]) -> None:
    for pid in list(pids):
        kill_group(pid)


def set_seed_context(session: pytest.Session, seed: int | None, reset_seed: bool) -> None:
    """As the subprocess command line would: ``--randomly-seed=S --randomly-dont-reorganize``
    for a seed, no reseeding at all (``-p no:randomly``) without one."""
    option = session.config.option
    if seed is None or not hasattr(option, "randomly_seed"):
        if hasattr(option, "randomly_seed"):
            option.randomly_seed = "default"  # what pytest-randomly's fixtures read as "off"
            option.randomly_reset_seed = False
        # A fresh interpreter seeds `random` from the OS; a fork would copy the parent's state.
        random.seed()
        return
    option.randomly_seed = seed
    option.randomly_reset_seed = reset_seed
    randomly = session.config.pluginmanager.get_plugin("randomly")
    sessionstart = getattr(randomly, "pytest_sessionstart", None)
    if callable(sessionstart):
        sessionstart(session)


def _register(config: pytest.Config, plugin: object, name: str) -> None:
    if config.pluginmanager.get_plugin(name) is not None:
        config.pluginmanager.unregister(name=name)
    config.pluginmanager.register(plugin, name)


def _restart_terminal(session: pytest.Session) -> None:
    # Restarts the session clock (and prints the header when not -q), as at session start.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    sessionstart = getattr(reporter, "pytest_sessionstart", None)
    if callable(sessionstart):
        sessionstart(session)


def run_items(session: pytest.Session, items: list[pytest.Item],
              after: Callable[[int], bool] | None = None) -> int:
    """pytest's own run loop over the chosen items, with its exit codes; ``nextitem`` lets each
    fixture scope end where the next item leaves it. ``after(index)``, called once each item
    has run, ends the loop early by returning True (a scan's checkpoints)."""
    if not items:
        return int(pytest.ExitCode.NO_TESTS_COLLECTED)
    if session.config.option.collectonly:  # as pytest's loop: collected, nothing run
        return int(pytest.ExitCode.OK)

    def loop() -> int | None:
        for index, item in enumerate(items):
            nextitem = items[index + 1] if index + 1 < len(items) else None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if session.shouldfail:
                return int(pytest.ExitCode.TESTS_FAILED)
            if session.shouldstop:
                return int(pytest.ExitCode.INTERRUPTED)
            if after is not None and after(index):
                break
        return None

    return loop_status(session, loop)


def loop_status(session: pytest.Session, loop: Callable[[], int | None]) -> int:
    """pytest's exit code for a run loop: the one it returns, else what pytest's session would
    make of how it ended (stopped, exited, interrupted, tests failed or not)."""
    try:
        code = loop()
        if code is not None:
            return code
    except session.Failed:
        return int(pytest.ExitCode.TESTS_FAILED)
    except pytest.exit.Exception as exc:
        code = exc.returncode
        return int(code) if code is not None else int(pytest.ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        return int(pytest.ExitCode.INTERRUPTED)
    return int(pytest.ExitCode.TESTS_FAILED if session.testsfailed else pytest.ExitCode.OK)


def snapshot_in_fork(session: pytest.Session, collected: list[pytest.Item], spec_path: Path
                     ) -> int:
    """In a child whose ``session.items`` are the polluters then the victim: what
    ``--isoscan-snapshot=SPEC`` does in a pytest process of its own (the ``Snapshotter``
    registered, shown every collected item, its loop in place of pytest's); pytest's exit
    code. The document is written by the session finish, as in a process of its own."""
    from isoscan.explain.plugin import PLUGIN_NAME, Snapshotter

    config = session.config
    snapshotter = Snapshotter(config, json.loads(spec_path.read_text(encoding="utf-8")))
    snapshotter.pytest_collection_modifyitems(collected)
    config.pluginmanager.register(snapshotter, PLUGIN_NAME)

    def loop() -> None:
        snapshotter.pytest_runtestloop(session)

    return loop_status(session, loop)


def finish_session(session: pytest.Session, status: int, hook: HookCaller | None = None) -> int:
    """Every plugin's session finish: pytest's tears down what is still set up (session
    fixtures, ``teardown_exact(None)``), the Recorder writes its end event, the terminal
    reporter its summary. ``hook``: a subset of ``pytest_sessionfinish`` to call instead."""
    session.exitstatus = status
    sessionfinish = hook if hook is not None else session.config.hook.pytest_sessionfinish
    try:
        sessionfinish(session=session, exitstatus=status)
    except pytest.exit.Exception as exc:
        if exc.returncode is not None:
            status = int(exc.returncode)
    return status


