"""Which trial runner a command gets: fork trials where the platform can fork, else subprocesses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from isoscan.execution.argv import Suite
from isoscan.execution.git import git_head
from isoscan.execution.timeouts import HangBook
from isoscan.model.status import Command, RunPurpose
from isoscan.store.db import RecordingSession, Store
from isoscan.trials.base import TrialMode, TrialRunner
from isoscan.trials.fork import server_process
from isoscan.trials.fork.client import ForkTrials
from isoscan.trials.subprocess_trials import SubprocessTrials


def make_trials(suite: Suite, store: Store, session_id: int, purpose: RunPurpose, fork: bool,
                on_fallback: Callable[[str], None] | None = None,
                hangs: HangBook | None = None) -> TrialRunner:
    """The trial runner a command should use: fork trials (collect once, fork per trial)
    unless ``fork`` is False (``--no-fork``) or this platform cannot fork, in which case
    ``on_fallback`` is told why. ``on_fallback`` also hears a later fallback of the fork
    runner (threads alive after collection). ``hangs``: what the session learnt about hangs
    so far (its plan runs, or the session a bisect starts from). End the runner with its
    ``close()``."""
    if fork:
        # Looked up on the module, so a test can stub it.
        reason = server_process.fork_unavailable()
        if reason is None:
            return ForkTrials(suite, store, session_id, purpose, on_fallback=on_fallback,
                              hangs=hangs)
        if on_fallback is not None:
            on_fallback(f"{reason}; each trial runs in a fresh subprocess")
    return SubprocessTrials(suite, store, session_id, purpose, hangs)


class CommandObserver(Protocol):
    """What a command that runs trials tells its user, whatever else it says."""

    def fallback(self, reason: str) -> None: ...
    def started(self, collected: int, mode: TrialMode) -> None: ...


class Fallbacks:
    """``make_trials``'s ``on_fallback`` for a command: passes each reason trials do not fork
    on to the command's observer and keeps the last one for its report."""

    def __init__(self, observer: CommandObserver) -> None:
        self.observer = observer
        self.last: str | None = None

    def __call__(self, reason: str) -> None:
        self.last = reason
        self.observer.fallback(reason)


@dataclass(frozen=True)
class CommandTrials:
    store: Store
    session: RecordingSession
    runner: TrialRunner
    fallbacks: Fallbacks  # ``last``: why trials did not fork, if they did not


@contextmanager
def command_trials(suite: Suite, store_dir: Path, command: Command, purpose: RunPurpose,
                   fork: bool, observer: CommandObserver) -> Iterator[CommandTrials]:
    """A command's store, recorded session and trial runner for the block: however it ends,
    the runner is closed, the session ended (interrupted on Ctrl-C) and the store closed."""
    store = Store(store_dir)
    fallbacks = Fallbacks(observer)
    try:
        with store.recording_session(command, suite, git_head(suite.cwd)) as session:
            runner = make_trials(suite, store, session.id, purpose, fork, fallbacks)
            try:
                yield CommandTrials(store, session, runner, fallbacks)
            finally:
                runner.close()
    finally:
        store.close()
