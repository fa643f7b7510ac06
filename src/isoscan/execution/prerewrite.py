"""Assertion rewriting on a second core while the fork server starts up.

pytest rewrites the ``assert`` statements of every test module it imports, and with no bytecode
cache to read (a fresh CI checkout, ``PYTHONDONTWRITEBYTECODE``) that is often the larger part of
collecting a suite: about 0.6 s of CPU for 1,500 one-assert tests, paid while a second core sits
idle. So the pytest processes isoscan starts share the work (the fork server, whose one
collection every trial waits for, and each recorded run outside xdist): right after pytest
parses its options, before the conftests are imported, the process forks a *helper* that
rewrites the test files it can find, last file first, while the process (the "server" below)
imports the conftests and collects from the first file on. The two meet in the middle.

The helper runs pytest's own ``_rewrite_test`` with a copy of the server's config and never
executes the user's code. It hands each result over as a file; the server takes a file's code
object only if the file's size, times and inode are as the helper saw them, and the helper keeps
none that raised a warning (pytest reports those during collection, where ``-W error`` may turn
them into a collection error). Anything else (a file the helper did not guess, one it failed on,
a helper that died) the server rewrites itself, as it always would: the helper can only save time.

The helper is stopped and reaped, and its files removed, once collection is done (before the
fork server forks its first trial). It is not started with one CPU, when a thread is already
running, when assertions are not rewritten, or when this pytest has no ``_rewrite_test`` of the
expected form.
"""

from __future__ import annotations

import atexit
import contextlib
import fnmatch
import glob
import marshal
import mmap
import os
import pickle
import shutil
import signal
import tempfile
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from isoscan.execution.cpus import usable_cpus

RewriteFn = Callable[[Path, pytest.Config], "tuple[Any, types.CodeType]"]

FREE, SERVER, HELPER, DONE, FAILED = 0, 1, 2, 3, 4  # one flag byte per candidate file
MAX_FILES = 50_000
LIST_NAME = "files"  # the helper's list of candidate files, one path per line
# Directories pytest never recurses into by default, and never a virtual environment's.
_ALWAYS_SKIPPED = (".*", "__pycache__", "node_modules", "venv", "*.egg", "build", "dist", "CVS",
                   "_darcs", "{arch}")

_KEY = pytest.StashKey["Prerewriter"]()


def start(config: pytest.Config, scratch: Path | None = None) -> Prerewriter | None:
    """Starts the helper for ``config`` (in ``pytest_load_initial_conftests``) when it can help;
    the server then takes what it made through ``rewrite._rewrite_test``. Its files go in a
    new folder under ``scratch`` (a folder isoscan removes even if the server is killed)."""
    if _KEY in config.stash:
        return config.stash[_KEY]  # one helper per pytest process, whichever plugin asks
    rewrite_module = _rewrite_module()
    original = getattr(rewrite_module, "_rewrite_test", None)
    if rewrite_module is None or not callable(original) or not _worth_starting(config):
        return None
    prerewriter = Prerewriter(config, original, rewrite_module, scratch)
    prerewriter.start()
    config.stash[_KEY] = prerewriter
    config.add_cleanup(prerewriter.close)
    # Also when pytest gives up before its cleanups run (a conftest that fails to import).
    atexit.register(prerewriter.close)
    return prerewriter


def stop(config: pytest.Config) -> int:
    """Stops the helper (before the server forks): the number of files it rewrote for it."""
    prerewriter = config.stash.get(_KEY, None)
    return prerewriter.stop() if prerewriter is not None else 0


def _rewrite_module() -> types.ModuleType | None:
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return None
    return rewrite


def _worth_starting(config: pytest.Config) -> bool:
    namespace = config.known_args_namespace
    return (getattr(namespace, "assertmode", "rewrite") == "rewrite"
            and not getattr(namespace, "pyargs", False)
            and usable_cpus() >= 2
            and threading.active_count() == 1
            and hasattr(os, "fork"))


def candidates(config: pytest.Config) -> list[Path]:
    """The files pytest will likely import as test modules, in about its order: those named on
    the command line, and those matching ``python_files`` under the directories named (or
    ``testpaths``, or the current directory), walked in sorted order. A guess: a file missed
    is rewritten by the server, one too many costs the helper a little time."""
    patterns = [str(p) for p in config.getini("python_files")]
    skipped = [*_ALWAYS_SKIPPED, *(str(p) for p in config.getini("norecursedirs"))]
    found: list[Path] = []
    seen: set[Path] = set()
    for root in _roots(config):
        for path in _walk(root, patterns, skipped):
            if path not in seen and "\n" not in str(path):  # the list is one path per line
                seen.add(path)
                found.append(path)
            if len(found) >= MAX_FILES:
                return found
    return found


def _roots(config: pytest.Config) -> list[Path]:
    base = config.invocation_params.dir
    args = [str(arg).split("::", 1)[0] for arg in config.known_args_namespace.file_or_dir]
    if not args:  # pytest's own fallback: testpaths (glob patterns allowed), else here
        args = [match for pattern in config.getini("testpaths")
                for match in sorted(glob.glob(str(base / str(pattern)), recursive=True))]
    return [Path(os.path.abspath(base / arg)) for arg in args or ["."]]


def _walk(root: Path, patterns: list[str], skipped: list[str]) -> Iterator[Path]:
    if root.is_file():
        if root.suffix == ".py":
            yield root
        return
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if not any(fnmatch.fnmatch(entry.name, pattern) for pattern in skipped) and not (
                    Path(entry.path) / "pyvenv.cfg").exists():
                yield from _walk(Path(entry.path), patterns, skipped)
        elif entry.name.endswith(".py") and _matches(Path(entry.path), patterns):
            yield Path(entry.path)


def _matches(path: Path, patterns: list[str]) -> bool:
    """pytest's ``python_files`` rule: a pattern without a separator matches the file name, one
    with a separator the end of the path."""
    for pattern in patterns:
        if os.sep not in pattern:
            matched = fnmatch.fnmatch(path.name, pattern)
        else:
            full = pattern if os.path.isabs(pattern) else "*" + os.sep + pattern
            matched = fnmatch.fnmatch(str(path), full)
        if matched:
            return True
    return False


def _fd_limit() -> int:
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 1 << 16
    return soft if 0 < soft < (1 << 20) else 1 << 20


def _fingerprint(path: Path) -> tuple[int, int, int, int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


class Prerewriter:
    """The helper process and the server's side of the hand-over."""

    def __init__(self, config: pytest.Config, original: RewriteFn, module: types.ModuleType,
                 scratch: Path | None = None) -> None:
        self.config = config
        self.original = original
        self.module = module
        # The helper lists the files (the walk is not the server's to wait for) and publishes
        # the list as LIST_NAME; until the server has read it, it rewrites every file itself.
        self.files: list[Path] = []
        self.index: dict[str, int] | None = None
        self.flags = mmap.mmap(-1, MAX_FILES)  # shared with the helper: anonymous, MAP_SHARED
        self.folder = Path(tempfile.mkdtemp(prefix="isoscan-rewrite-", dir=scratch))
        self.pid: int | None = None
        self.notices: int | None = None  # read end: "<index>\n" once a file is DONE or FAILED
        self.taken = 0
        self.stopped = False
        self.owner = os.getpid()  # a process the suite forks before collection must not stop it

    # server side -------------------------------------------------------------------------------
    def start(self) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            self._helper(write_end)
        os.close(write_end)
        self.pid, self.notices = pid, read_end
        self.module._rewrite_test = self._rewrite_test  # type: ignore[attr-defined]

    def close(self) -> None:
        self.stop()

    def stop(self) -> int:
        """Ends the helper, restores pytest's own rewrite; the number of files it supplied."""
        if self.stopped or os.getpid() != self.owner:
            return self.taken
        self.stopped = True
        if getattr(self.module, "_rewrite_test", None) == self._rewrite_test:
            self.module._rewrite_test = self.original  # type: ignore[attr-defined]
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        if self.notices is not None:
            os.close(self.notices)
            self.notices = None
        self.flags.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return self.taken

    def _rewrite_test(self, fn: Path, config: pytest.Config) -> tuple[Any, types.CodeType]:
        index = self._published() if not self.stopped and config is self.config else None
        at = index.get(str(fn)) if index is not None else None
        if at is None:
            return self.original(fn, config)
        state = self.flags[at]
        if state == FREE:
            self.flags[at] = SERVER
            return self.original(fn, config)
        made = self._wait_for(at) if state in (HELPER, DONE) else None
        if made is None:
            return self.original(fn, config)
        self.taken += 1
        return made

    def _published(self) -> dict[str, int] | None:
        if self.index is None:
            try:
                listed = (self.folder / LIST_NAME).read_text(encoding="utf-8")
            except OSError:
                return None
            self.files = [Path(line) for line in listed.splitlines()]
            self.index = {line: at for at, line in enumerate(listed.splitlines())}
        return self.index

    def _wait_for(self, at: int) -> tuple[Any, types.CodeType] | None:
        while self.flags[at] == HELPER:
            if not self._read_notices():
                return None  # the helper is gone
        if self.flags[at] != DONE:
            return None
        try:
            fingerprint, first, code = pickle.loads((self.folder / str(at)).read_bytes())
            if fingerprint != _fingerprint(self.files[at]):
                return None
            return first, marshal.loads(code)
        except Exception:
            return None

    def _read_notices(self) -> bool:
        """Blocks for the helper's next notices; False once it has exited."""
        assert self.notices is not None
        chunk = os.read(self.notices, 1 << 16)
        return bool(chunk)

    # helper side -------------------------------------------------------------------------------
    def _helper(self, notices: int) -> None:
        status = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            # Holding isoscan's pipes (or any other) open would hide the server's exit.
            os.closerange(3, notices)
            os.closerange(notices + 1, _fd_limit())
            # Notices only wake a server that waits; with the pipe full it has some to read.
            os.set_blocking(notices, False)
            self.files = candidates(self.config)
            scratch = self.folder / f"{LIST_NAME}.tmp"
            scratch.write_text("".join(f"{path}\n" for path in self.files), encoding="utf-8")
            os.replace(scratch, self.folder / LIST_NAME)
            for at in reversed(range(len(self.files))):
                if self.flags[at] != FREE:
                    continue
                self.flags[at] = HELPER
                self.flags[at] = DONE if self._make(at) else FAILED
                with contextlib.suppress(BlockingIOError):
                    os.write(notices, f"{at}\n".encode())
        except BaseException:
            status = 1
        finally:
            os._exit(status)

    def _make(self, at: int) -> bool:
        path = self.files[at]
        try:
            if self._cached(path):
                return False
            before = _fingerprint(path)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                first, code = self.original(path, self.config)
            if caught or before != _fingerprint(path):
                return False
            data = pickle.dumps((before, first, marshal.dumps(code)))
            scratch = self.folder / f"{at}.tmp"
            scratch.write_bytes(data)
            os.replace(scratch, self.folder / str(at))
            return True
        except Exception:
            return False

    def _cached(self, path: Path) -> bool:
        """Whether pytest may find this file's rewritten code in its own bytecode cache: then
        it reads that and never asks for a rewrite."""
        cache_dir = getattr(self.module, "get_cache_dir", None)
        tail = getattr(self.module, "PYC_TAIL", None)
        if cache_dir is None or not isinstance(tail, str):
            return False
        try:
            return bool((cache_dir(path) / (path.name[:-3] + tail)).exists())
        except Exception:
            return False
