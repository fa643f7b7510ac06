"""What makes each child of the fork server a session of the suite's own (docs/fork-trials.md,
"Each trial is a session of the suite's own"): which plugins' session hooks a child and the
server run, how a child whose session start the suite stops ends, and ``config.cache`` as one
session's cache in each child."""

from __future__ import annotations

import shutil
import sys
import tempfile
import types
from pathlib import Path

import pytest
from pluggy import HookCaller

from isoscan.trials.fork.protocol import TrialRequest, child_records

_CACHE_WRITERS = ("lfplugin", "nfplugin")  # pytest's names for its cache plugins


def children_sessionfinish(manager: pytest.PytestPluginManager) -> HookCaller:
    """Every plugin's ``pytest_sessionfinish`` but those of pytest's cache plugins (``--lf``,
    ``--nf``), for every child: they only write the server's private cache, which nothing
    reads once the server has collected (their orders were applied then; children run
    explicit ones) and which is deleted with it. The ``--nf`` one sorts and writes every
    collected node id: ~7 ms of a trial of a few tests in a 1,500-test suite."""
    cache = [plugin for plugin in map(manager.get_plugin, _CACHE_WRITERS) if plugin is not None]
    return manager.subset_hook_caller("pytest_sessionfinish", remove_plugins=cache)


# Plugins whose session start the child must not repeat (pytest's own would reset the fixture
# manager and setup state of the collected items) or that it repeats by hand.
_NOT_RESTARTED = ("_pytest.", "pytest.", "pluggy", "isoscan.", "pytest_randomly", "xdist",
                  "pytest_timeout")


def user_hook(manager: pytest.PytestPluginManager, name: str) -> HookCaller | None:
    """Conftest and third-party hooks of ``name`` (``pytest_sessionstart``,
    ``pytest_sessionfinish``): the suite's, which each child runs as a fresh process would,
    and the server runs to end its own session before the first fork. None when the suite
    has none."""
    skip = [plugin for plugin in manager.get_plugins() if _plugin_module(plugin).startswith(
        _NOT_RESTARTED)]
    caller = manager.subset_hook_caller(name, remove_plugins=skip)
    return caller if caller.get_hookimpls() else None


def stopped_at_start(exc: BaseException) -> int:
    """A child whose session start the suite stopped (``pytest.exit``): as pytest does, the
    reason on stderr (the line isoscan shows for a trial that ran nothing), no session finish,
    the exit code asked for or ``interrupted``."""
    code = getattr(exc, "returncode", None)
    sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
    return int(code) if code is not None else int(pytest.ExitCode.INTERRUPTED)


_OWN = ("randomly_seed",)  # cache keys the plugins isoscan loads write for themselves


class ChildCache:
    """``config.cache`` as one session's cache in each child. The server's cache (private to
    the server, empty when it started) is sealed as the server's session starts: what
    ``pytest_configure`` wrote is kept, as a subprocess trial's configure writes it before its
    own session starts. Each child then points ``config.cache`` at a folder of its own with a
    copy of that, so neither what the server's session wrote nor what one child writes (a
    flag set at session start, cleared at finish, left set by a child that was killed) ever
    reaches a child: every trial sees the cache a ``--no-fork`` trial sees."""

    def __init__(self, config: pytest.Config, scratch: Path | None) -> None:
        # Absent under -p no:cacheprovider.
        self.cache: pytest.Cache | None = getattr(config, "cache", None)
        self.scratch = scratch  # removed by isoscan with the server's other files
        self.sealed: Path | None = None

    def seal(self) -> None:
        """Keeps the cache as it is now for the children, if the suite wrote anything to it.
        pytest-randomly's own ``randomly_seed`` (there because isoscan loads it) is not the
        suite's: a cache holding only that is not copied, so a child's cache costs nothing
        until the child writes to it (a copy per child was 1,500 copies for ``isolate``)."""
        folder = self._folder()
        if folder is None or not any(p for p in folder.glob("[dv]/*") if p.name not in _OWN):
            return
        self.sealed = Path(tempfile.mkdtemp(prefix="isoscan-cache-", dir=self.scratch)) / "c"
        shutil.copytree(folder, self.sealed)

    def close(self) -> None:
        if self.sealed is not None:
            shutil.rmtree(self.sealed.parent, ignore_errors=True)

    def own(self, folder: Path) -> None:
        """In a child: its own cache at ``folder``, a copy of the sealed one when there is
        anything in it (else made by pytest on the first write)."""
        self._move(self.sealed, folder)

    def branch(self, folder: Path) -> None:
        """In a scan's checkpoint: a copy of the chain's cache as it is now, so what the
        checkpoint's session finish writes stays the checkpoint's."""
        self._move(self._folder(), folder)

    def _move(self, source: Path | None, folder: Path) -> None:
        if self.cache is None:
            return
        if source is not None and source.is_dir():
            shutil.copytree(source, folder, dirs_exist_ok=True)
        # pytest has no public way to move a cache; every reader and writer goes through this.
        self.cache._cachedir = folder

    def _folder(self) -> Path | None:
        return self.cache._cachedir if self.cache is not None else None


def child_cache(request: TrialRequest, index: int) -> Path:
    """Where child ``index`` keeps its cache: beside its records, as ``--no-fork``'s
    subprocess keeps its own (``cache_args``); in its own records folder for a child of an
    ``alone`` request (made only if it writes to the cache)."""
    records = child_records(request, index)
    return (records if request.alone else records.parent) / ".pytest_cache"


def _plugin_module(plugin: object) -> str:
    name = getattr(plugin, "__name__", None) if isinstance(plugin, types.ModuleType) else None
    return name if isinstance(name, str) else type(plugin).__module__
