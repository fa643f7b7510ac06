"""What the import tracer never calls a change: a module's own globals while it runs for the
first time, and a name an import statement binds to a module."""

from __future__ import annotations

from isoscan.explain.state.base import Change
from isoscan.import_time.trace import _own_definition


def _global(module: str, attr: str, change: str, kind: str = "str") -> Change:
    return Change("global", f"{module}.{attr}", change, "", (),
                  {"module": module, "attr": attr, "type": kind})


def test_own_definitions_and_module_bindings_are_not_changes() -> None:
    running = {"lib.net", "tests.helpers.chain"}
    assert _own_definition(_global("lib.net", "chains", "added", "dict"), running)
    assert _own_definition(_global("lib", "net", "added", "module"), set())
    assert _own_definition(_global("lib", "np", "rebound", "module"), set())


def test_a_change_to_a_module_imported_before_is_kept() -> None:
    assert not _own_definition(_global("lib", "chain", "rebound"), {"lib.net"})
    assert not _own_definition(_global("lib", "REGISTRY", "mutated", "dict"), set())
    assert not _own_definition(Change("env", "APP_MODE", "added", ""), {"lib"})
