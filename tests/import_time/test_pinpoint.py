"""The line tracer of import_time/pinpoint.py, in this process: the statement of the traced
module and every call below it down to the line that changed a watched global, and nothing
traced once the watch has fired."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from isoscan.import_time.pinpoint import Pinpointer, watch_of

LIB = """
    chain = "main"
    registry = {}


    def _select(name):
        global chain
        chain = name


    def use(name):
        _select(name)


    def register(name):
        registry[name] = 1
"""
HELPER = """
    import pinlib

    pinlib.register("x")
    pinlib.use("other")
"""


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "pinlib.py").write_text(textwrap.dedent(LIB))
    (tmp_path / "pinhelper.py").write_text(textwrap.dedent(HELPER))
    sys.path.insert(0, str(tmp_path))
    importlib.import_module("pinlib")
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in ("pinlib", "pinhelper"):
        sys.modules.pop(name, None)


def test_a_global_set_two_calls_deep_is_blamed_on_the_module_statement(modules: Path) -> None:
    watches = [watch_of({"kind": "global", "name": "pinlib.chain", "owner": "pinlib",
                         "attr": "chain"}),
               watch_of({"kind": "global", "name": "pinlib.registry", "owner": "pinlib",
                         "attr": "registry"})]
    pinpointer = Pinpointer(str(modules / "pinhelper.py"), [w for w in watches if w], str(modules))
    previous = sys.gettrace()
    pinpointer.start()
    try:
        importlib.import_module("pinhelper")
    finally:
        pinpointer.stop()
    assert sys.gettrace() is previous
    assert pinpointer.found == {
        "pinlib.registry": [("pinhelper.py", 4, 'pinlib.register("x")'),
                            ("pinlib.py", 16, "registry[name] = 1")],
        "pinlib.chain": [("pinhelper.py", 5, 'pinlib.use("other")'),
                         ("pinlib.py", 12, "_select(name)"),
                         ("pinlib.py", 8, "chain = name")]}
    assert not pinpointer.pending


def test_another_modules_body_is_not_traced(modules: Path) -> None:
    (modules / "pinbig.py").write_text("import pinlib\n\npinlib.use('big')\n")
    (modules / "pinouter.py").write_text("import pinbig\n")
    watch = watch_of({"kind": "global", "name": "pinlib.chain", "owner": "pinlib",
                      "attr": "chain"})
    assert watch is not None
    pinpointer = Pinpointer(str(modules / "pinouter.py"), [watch], str(modules))
    pinpointer.start()
    try:
        importlib.import_module("pinouter")
    finally:
        pinpointer.stop()
        sys.modules.pop("pinbig", None)
        sys.modules.pop("pinouter", None)
    # Changed inside pinbig's own import: not this module's code, so no line is blamed, and
    # the import's return was seen.
    assert pinpointer.found == {}
    assert pinpointer.nested == 0


def test_kinds_it_cannot_watch_get_no_watch() -> None:
    assert watch_of({"kind": "logging", "name": "root"}) is None
    assert watch_of({"kind": "global", "name": "x", "owner": "", "attr": ""}) is None
