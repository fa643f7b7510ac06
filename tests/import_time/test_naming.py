"""How import_time/naming.py words an import-time cause: the fix names the real attribute (and the
call to move when the change was made through one), the import chain ends at the statement's
line, and a cause survives the JSON round trip with its chain, calls and own-module finding."""

from __future__ import annotations

from isoscan.explain.state.base import Change
from isoscan.import_time.naming import _chain, import_hint
from isoscan.model.import_time import ImportCause, ImportDependence, OwnModuleFinding


def _global(name: str, change: str, **detail: str) -> Change:
    module, _, attr = name.rpartition(".")
    return Change("global", name, change, "", (), {"module": module, "attr": attr, **detail})


def test_a_change_made_through_a_call_moves_the_call_and_names_the_attribute() -> None:
    hint = import_hint(_global("lib.chain", "rebound"),
                       "tests/h.py:4: lib.use_chain('b')", ("lib/__init__.py:8: chain = x",))
    assert hint == ("move the call lib.use_chain('b') (tests/h.py:4) into a fixture used by the "
                    'tests that need it, or use monkeypatch.setattr(lib, "chain", ...) there: '
                    "called at import time it changes lib.chain for every test collected in "
                    "the same process, whether it runs or not")


def test_a_direct_change_keeps_the_fixture_hint_with_the_exact_patch() -> None:
    direct = import_hint(_global("lib.chain", "rebound"), "tests/h.py:4: lib.chain = 'b'")
    assert direct.startswith("do not change it at import time")
    assert 'monkeypatch.setattr(lib, "chain", ...)' in direct
    key = import_hint(_global("lib.REGISTRY", "mutated", member="'x'", role="key"), None)
    assert "monkeypatch.setitem(lib.REGISTRY, 'x', ...)" in key
    member = import_hint(_global("conf.settings", "mutated", member="mode", role="attribute"),
                         None)
    assert 'monkeypatch.setattr(conf.settings, "mode", ...)' in member


def test_the_chain_starts_at_the_collected_module_and_ends_at_the_line() -> None:
    assert _chain(("tests/conftest.py", "tests/b/test_x.py", "tests/h.py"), "tests/b/test_x.py",
                  4) == ("tests/b/test_x.py", "tests/h.py:4")
    # A folder's conftest imported it: the test module it was collected for comes first.
    assert _chain(("tests/b/conftest.py",), "tests/b/test_x.py", None) == (
        "tests/b/test_x.py", "tests/b/conftest.py")


def test_a_dependence_round_trips_with_chain_calls_and_its_own_module_finding() -> None:
    cause = ImportCause("tests/h.py", "tests/b/test_x.py", "global", "lib.chain", "rebound",
                        "rebinds lib.chain", "global lib.chain: rebound 'a' -> 'b'",
                        "tests/h.py:4: lib.use_chain('b')", "fix",
                        chain=("tests/b/test_x.py", "tests/h.py:4"),
                        calls=("lib/__init__.py:8: chain = x",))
    own = OwnModuleFinding(["tests/a/test_v.py", "tests/c/test_p.py"], "victim",
                           polluters=[["tests/c/test_p.py::test_p"]], reproduce="python -m pytest",
                           reproduce_all=["python -m pytest"], trials=5,
                           state="global lib.chain: rebound", fix="monkeypatch")
    dependence = ImportDependence(["tests/b/test_x.py"], [cause], "p", "f", own_module=own)
    again = ImportDependence.from_json(dependence.to_json())
    assert again == dependence
    assert cause.where == "tests/b/test_x.py → tests/h.py:4"
    assert own.text == ("with only tests/a/test_v.py and tests/c/test_p.py collected: polluter "
                        "tests/c/test_p.py::test_p")
