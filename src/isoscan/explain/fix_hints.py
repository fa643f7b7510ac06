"""A concrete fix per kind of leaked state, naming the actual key, name or file.

The fix goes in the polluter: make it restore what it changed (pytest's ``monkeypatch`` undoes
its changes after the test), or keep its changes away from shared places (``tmp_path``).
"""

from __future__ import annotations

from collections.abc import Callable

from isoscan.explain.state import snapshot as s
from isoscan.explain.state.base import Change

_RESTORE = "in a fixture that restores it after its yield"


def hint_for(change: Change) -> str:
    make = _HINTS.get(change.kind)
    return make(change) if make is not None else ""


def _env(c: Change) -> str:
    key = c.detail.get("key", c.name)
    if c.change == "removed":
        return (f'monkeypatch.delenv("{key}") instead of deleting it from os.environ: '
                "monkeypatch puts it back after the test")
    return (f'monkeypatch.setenv("{key}", ...) instead of writing os.environ: monkeypatch '
            "restores it after the test")


def _cwd(c: Change) -> str:
    return ("monkeypatch.chdir(tmp_path) instead of os.chdir: monkeypatch returns to the "
            "original directory after the test")


def _umask(c: Change) -> str:
    return f"old = os.umask(...) then os.umask(old), {_RESTORE}"


def _sys_path(c: Change) -> str:
    entry = c.detail.get("entry", c.name)
    if c.change == "added":
        return (f"monkeypatch.syspath_prepend({entry!r}) instead of changing sys.path: it is "
                "undone after the test")
    return 'monkeypatch.setattr(sys, "path", [...]) to change a copy of sys.path'


def _sys_modules(c: Change) -> str:
    module = c.detail.get("module", c.name)
    if c.change == "removed":
        return (f'monkeypatch.delitem(sys.modules, "{module}") instead of del: monkeypatch puts '
                "it back after the test")
    return (f"import {module} where the victim needs it (its module or conftest.py), so it "
            "does not rely on another test importing it first; or "
            f'monkeypatch.delitem(sys.modules, "{module}", raising=False) in the polluter')


def _sys_argv(c: Change) -> str:
    return 'monkeypatch.setattr(sys, "argv", [...]) instead of changing sys.argv'


def _recursion(c: Change) -> str:
    return f"old = sys.getrecursionlimit(), then sys.setrecursionlimit(old), {_RESTORE}"


def _socket_timeout(c: Change) -> str:
    return ("pass timeout= to the connection instead; or old = socket.getdefaulttimeout(), then "
            f"socket.setdefaulttimeout(old), {_RESTORE}")


def _timezone(c: Change) -> str:
    return ('monkeypatch.setenv("TZ", ...) and time.tzset() in a fixture that calls '
            "monkeypatch.undo() and time.tzset() again after its yield")


def _locale(c: Change) -> str:
    category = c.detail.get("category", c.name)
    return (f"old = locale.setlocale(locale.{category}), then "
            f"locale.setlocale(locale.{category}, old), {_RESTORE}")


def _global(c: Change) -> str:
    module, attr = c.detail.get("module", "module"), c.detail.get("attr", c.name)
    target = f"{module}.{attr}"
    if c.change == "removed":
        return f'monkeypatch.delattr({module}, "{attr}") instead of del: it is put back after'
    if c.change in ("rebound", "added"):
        extra = ", raising=False" if c.change == "added" else ""
        return (f'monkeypatch.setattr({module}, "{attr}", ...{extra}) instead of assigning '
                f"{target}: it is restored after the test")
    member, shape = c.detail.get("member"), c.detail.get("shape")
    if shape == s.MAPPING and member:
        if c.detail.get("member_change") == "removed":
            return (f"monkeypatch.delitem({target}, {member}) instead of deleting the key: it "
                    "is put back after the test")
        return (f"monkeypatch.setitem({target}, {member}, ...) instead of writing the key: "
                "it is restored (or removed) after the test")
    if shape in (s.CLASS, s.OBJECT) and member:
        return (f'monkeypatch.setattr({target}, "{member}", ...) instead of assigning the '
                "attribute: it is restored after the test")
    copy = c.detail.get("type", "list")
    return (f'monkeypatch.setattr({module}, "{attr}", {copy}({target})) before changing it, so '
            "the test changes a copy and the original comes back after the test")


def _file(c: Change) -> str:
    name = c.detail.get("path", c.name)
    if c.detail.get("temp") == "yes":
        return (f"use tmp_path (a fresh directory per test) instead of the fixed name {name} in "
                "the temp dir")
    if c.change == "added":
        return (f"write under tmp_path instead of {name}, or remove it in the polluter's "
                "teardown")
    if c.change == "removed":
        return f"work on a copy under tmp_path instead of removing {name}"
    return f"copy {name} to tmp_path and change the copy"


def _fd(c: Change) -> str:
    if c.change == "closed":
        return "do not close descriptors the test did not open (or dup them first)"
    return ("close it: open with `with open(...)`, or close it in the fixture's teardown "
            "(after its yield)")


def _socket(c: Change) -> str:
    return ("close it in teardown: `with socket.socket(...)`, or a fixture that closes it "
            "after yield")


def _thread(c: Change) -> str:
    return (f"stop and join thread {c.name!r} in teardown: a fixture that sets a stop event and "
            "calls thread.join() after its yield")


def _process(c: Change) -> str:
    if "zombie" in c.summary:
        return "call proc.wait() (or use `with subprocess.Popen(...)`) so the child is reaped"
    return ("terminate and wait for it in teardown: proc.terminate(); proc.wait() "
            "(or `with subprocess.Popen(...)`)")


def _logging(c: Change) -> str:
    logger = c.detail.get("logger", c.name)
    what = c.detail.get("what", "")
    if c.name == "logging.disable":
        return "call logging.disable(logging.NOTSET) in teardown"
    if what == "level":
        arg = "" if logger == "root" else f', logger="{logger}"'
        return (f"caplog.set_level(...{arg}) instead of setLevel: caplog restores the level "
                "after the test")
    if what == "handler":
        return ("remove the handler in teardown (logger.removeHandler), or read records through "
                "caplog instead of adding a handler")
    if what == "disabled":
        return ("pass disable_existing_loggers=False to logging.config.dictConfig/fileConfig, or "
                "re-enable the loggers in teardown")
    return f"restore logger {logger!r} in teardown"


def _warnings(c: Change) -> str:
    return ("wrap it in `with warnings.catch_warnings():`, or use "
            "@pytest.mark.filterwarnings / pytest.warns")


def _signal(c: Change) -> str:
    sig = c.detail.get("signal", c.name)
    return (f"old = signal.signal(signal.{sig}, handler), then signal.signal(signal.{sig}, "
            f"old), {_RESTORE}")


def _asyncio(c: Change) -> str:
    if c.detail.get("what") == "policy":
        return ("asyncio.set_event_loop_policy(None) in teardown (or use pytest-asyncio's "
                "event_loop_policy fixture)")
    return ("close the loop and call asyncio.set_event_loop(None) in teardown; or use "
            "asyncio.run(), which does both")


def _user(c: Change) -> str:
    return (f"the polluter leaves {c.name} changed: give each test its own data (a per-test "
            "unique id, e.g. uuid4, in what it writes) or run it in a transaction rolled back "
            "in teardown")


_HINTS: dict[str, Callable[[Change], str]] = {
    s.ENV: _env, s.CWD: _cwd, s.UMASK: _umask, s.SYS_PATH: _sys_path,
    s.SYS_MODULES: _sys_modules, s.SYS_ARGV: _sys_argv, s.RECURSION: _recursion,
    s.SOCKET_TIMEOUT: _socket_timeout, s.TIMEZONE: _timezone, s.LOCALE: _locale,
    s.GLOBAL: _global, s.FILE: _file, s.FD: _fd, s.SOCKET: _socket, s.THREAD: _thread,
    s.PROCESS: _process, s.LOGGING: _logging, s.WARNINGS: _warnings, s.SIGNAL: _signal,
    s.ASYNCIO: _asyncio, s.USER: _user,
}
