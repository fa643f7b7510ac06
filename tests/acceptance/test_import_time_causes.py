"""Import-time answers name the change that really happened, and do not hide an ordinary polluter.

Two generated suites, each run once through ``isoscan seeds --bisect`` (module-scoped):

- CHAIN: a test helper calls a library's config setter at import (line 4; the setter uses
  ``global``); the helper first imports a package whose ``__init__`` is nothing but
  ``from x import *`` lines (never to be named); the victim's module is also broken by a
  unittest class whose ``setUp`` selects another chain and never resets it (an ordinary
  polluter, only visible in the victim's own-module frame).
- SETTINGS: a helper calls a method of a library object that mutates it two calls deep.

Every printed reproduction is fed back to pytest to check it does what it says.
"""

from __future__ import annotations

import html
import io
import json
import shlex
import subprocess
import sys
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from suitegen import fillers, run_cli, write

CHAIN = {
    "lib/__init__.py": """
        chains = {"main_a": "main_a", "other_b": "other_b", "legacy_c": "legacy_c"}
        chain = "main_a"


        def use_chain(name):
            global chain
            chain = chains.get(name)
    """,
    "lib/codes.py": """
        import lib


        def make_code(x):
            return f"{lib.chain}:{x}"
    """,
    "lib/net/__init__.py": """
        from lib.net.core import *
        from lib.net.proto import *
        from lib import *
    """,
    "lib/net/core.py": """
        import lib

        TIMEOUT = 3
    """,
    "lib/net/proto.py": """
        import lib
        from lib import chains

        PROTO = "tcp"
    """,
    "tests/__init__.py": "",
    "tests/net/__init__.py": "",
    "tests/net/helpers/__init__.py": "",
    "tests/codes/__init__.py": "",
    # Line 4 is the call; the dedent keeps the first line empty, so the file starts at line 1.
    "tests/net/helpers/chain_helpers.py": "import lib\nimport lib.net\n\n"
                                          "lib.use_chain('other_b')\n",
    "tests/net/test_other.py": """
        from tests.net.helpers import chain_helpers


        def test_other():
            assert chain_helpers
    """,
    "tests/net/test_legacy.py": """
        import unittest

        import lib


        class TestLegacy(unittest.TestCase):
            def setUp(self):
                lib.use_chain("legacy_c")

            def test_legacy(self):
                assert lib.chain == "legacy_c"
    """,
    "tests/codes/test_codes.py": """
        import unittest

        from lib.codes import make_code


        class TestCodes(unittest.TestCase):
            def test_make_code(self):
                assert make_code(1) == "main_a:1"
    """,
    "tests/test_fill.py": fillers("fill", 2),
}
CHAIN_VICTIM = "tests/codes/test_codes.py::TestCodes::test_make_code"
POLLUTER = "tests/net/test_legacy.py::TestLegacy::test_legacy"

SETTINGS = {
    "conf/__init__.py": """
        class Settings:
            def __init__(self):
                self.mode = "safe"

            def configure(self, mode):
                self._store(mode)

            def _store(self, mode):
                self.mode = mode


        settings = Settings()
    """,
    "tests/helpers/__init__.py": "",
    "tests/helpers/fast.py": "import conf\n\n\nconf.settings.configure('fast')\n",
    "tests/a/test_mode.py": """
        import conf


        def test_safe_mode():
            assert conf.settings.mode == "safe"
    """,
    "tests/b/test_speed.py": """
        from tests.helpers import fast


        def test_speed():
            assert fast
    """,
}
SETTINGS_VICTIM = "tests/a/test_mode.py::test_safe_mode"


@dataclass
class Seeds:
    code: int
    doc: dict[str, Any]
    root: Path
    terminal: str

    def test(self, nodeid: str) -> dict[str, Any]:
        return next(t for t in self.doc["tests"] if t["nodeid"] == nodeid)

    def dependence(self, nodeid: str) -> dict[str, Any]:
        entry = self.test(nodeid)
        assert entry["verdict"] == "import-time", entry["evidence"]["note"]
        found: dict[str, Any] = entry["evidence"]["import_time"]
        return found


def seeds_bisect(root: Path) -> Seeds:
    out = root.parent / "seeds.json"
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(buffer):
        mp.chdir(root)
        code = run_cli(["seeds", "tests", "--count", "0", "--replays", "2", "--timeout", "60",
                        "--bisect", "--json", str(out),
                        "--markdown", str(root.parent / "seeds.md"),
                        "--junit-xml", str(root.parent / "seeds.xml")])
    return Seeds(code, json.loads(out.read_text()), root, buffer.getvalue())


def run_printed(root: Path, command: str) -> subprocess.CompletedProcess[str]:
    """A printed command run as a person would, in its own process; ``python`` is this one."""
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "pytest"], command
    return subprocess.run([sys.executable, *argv[1:], "-rA"], cwd=root, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Seeds:
    return seeds_bisect(write(tmp_path_factory.mktemp("chain") / "suite", CHAIN))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Seeds:
    return seeds_bisect(write(tmp_path_factory.mktemp("settings") / "suite", SETTINGS))


# -- the change, the statement, the chain ---------------------------------------------------------
def test_a_setter_called_at_import_is_named_with_its_line_chain_and_the_global_it_sets(
        chain: Seeds) -> None:
    found = chain.dependence(CHAIN_VICTIM)
    assert found["modules"] == ["tests/net/test_other.py"]
    cause = found["causes"][0]
    assert (cause["name"], cause["change"], cause["module"], cause["via"]) == (
        "lib.chain", "rebound", "tests/net/helpers/chain_helpers.py", "tests/net/test_other.py")
    assert cause["summary"] == "global lib.chain: rebound 'main_a' -> 'other_b'"
    assert cause["statement"] == "tests/net/helpers/chain_helpers.py:4: lib.use_chain('other_b')"
    assert cause["chain"] == ["tests/net/test_other.py", "tests/net/helpers/chain_helpers.py:4"]
    assert cause["calls"] == ["lib/__init__.py:8: chain = chains.get(name)"]
    assert found["text"] == ("fails when tests/net/test_other.py is collected: importing "
                             "tests/net/helpers/chain_helpers.py rebinds lib.chain")


def test_a_package_init_of_star_imports_and_first_imported_globals_are_never_named(
        chain: Seeds) -> None:
    causes = chain.dependence(CHAIN_VICTIM)["causes"]
    assert [c["name"] for c in causes] == ["lib.chain"]
    assert not [c for c in causes if c["module"].startswith("lib/")]
    assert "lib/net/__init__.py" not in json.dumps(chain.test(CHAIN_VICTIM))


def test_the_fix_moves_the_call_and_names_the_real_attribute(chain: Seeds) -> None:
    hint = chain.dependence(CHAIN_VICTIM)["causes"][0]["hint"]
    assert hint.startswith("move the call lib.use_chain('other_b') "
                           "(tests/net/helpers/chain_helpers.py:4) into a fixture")
    assert 'monkeypatch.setattr(lib, "chain", ...)' in hint


def test_a_method_mutating_a_library_object_two_calls_deep_is_named(settings: Seeds) -> None:
    found = settings.dependence(SETTINGS_VICTIM)
    assert found["modules"] == ["tests/b/test_speed.py"]
    cause = found["causes"][0]
    assert (cause["name"], cause["change"], cause["module"]) == (
        "conf.settings", "mutated", "tests/helpers/fast.py")
    assert cause["statement"] == "tests/helpers/fast.py:4: conf.settings.configure('fast')"
    assert cause["chain"] == ["tests/b/test_speed.py", "tests/helpers/fast.py:4"]
    assert cause["calls"] == ["conf/__init__.py:7: self._store(mode)",
                              "conf/__init__.py:10: self.mode = mode"]
    assert 'monkeypatch.setattr(conf.settings, "mode", ...)' in cause["hint"]
    # Nothing else was blamed: no polluter exists in its own-module frame either.
    assert found["own_module"] is None or not found["own_module"]["polluters"]


# -- two findings: the import and the ordinary polluter --------------------------------------------
def test_the_polluter_of_its_own_module_frame_is_reported_with_its_own_reproduction(
        chain: Seeds) -> None:
    assert chain.code == 1
    own = chain.dependence(CHAIN_VICTIM)["own_module"]
    assert own["kind"] == "victim"
    assert own["polluters"] == [[POLLUTER]]
    assert own["collected"] == ["tests/codes/test_codes.py", "tests/net/test_legacy.py"]
    command = shlex.split(own["reproduce"])
    assert command[3:5] == ["tests/codes/test_codes.py", "tests/net/test_legacy.py"]
    assert "tests/net/test_other.py" not in command
    ran = run_printed(chain.root, own["reproduce"])
    assert ran.returncode == 1, ran.stdout
    assert f"PASSED {POLLUTER}" in ran.stdout and f"FAILED {CHAIN_VICTIM}" in ran.stdout
    # The victim alone in that same frame passes: the polluter, not the frame, breaks it.
    alone = run_printed(chain.root, f"python -m pytest {CHAIN_VICTIM} tests/net/test_legacy.py "
                                    "--deselect tests/net/test_legacy.py::")
    assert alone.returncode == 0, alone.stdout
    # The second fix: what the polluter leaves, with the real attribute.
    assert own["state"] == "global lib.chain: rebound 'main_a' -> 'legacy_c'"
    assert 'monkeypatch.setattr(lib, "chain", ...)' in own["fix"]
    pairs = {p["victim"]: p for p in chain.doc["pairs"]}
    assert pairs[CHAIN_VICTIM]["polluters"] == [[POLLUTER]]
    assert pairs[CHAIN_VICTIM]["reproduce"] == own["reproduce"]


def test_the_import_time_reproduction_still_passes_then_fails(chain: Seeds) -> None:
    found = chain.dependence(CHAIN_VICTIM)
    assert run_printed(chain.root, found["passes"]).returncode == 0
    assert run_printed(chain.root, found["fails"]).returncode == 1


def test_terminal_markdown_junit_and_blame_show_both_findings(chain: Seeds) -> None:
    also = ("also, in its own-module frame, with only tests/codes/test_codes.py and "
            f"tests/net/test_legacy.py collected: polluter {POLLUTER}")
    reports = [chain.terminal, (chain.root.parent / "seeds.md").read_text(),
               html.unescape((chain.root.parent / "seeds.xml").read_text())]
    for text in reports:
        assert "importing tests/net/helpers/chain_helpers.py rebinds lib.chain" in text
        assert "through: tests/net/test_other.py → tests/net/helpers/chain_helpers.py:4" in text
        assert "tests/net/helpers/chain_helpers.py:4: lib.use_chain('other_b')" in text
        assert also in text
        # The terminal puts a command too long for its line under its label, whole.
        assert "reproduce (fails): python -m pytest tests/codes/test_codes.py " \
               "tests/net/test_legacy.py" in " ".join(text.split())
    blame = chain.test(CHAIN_VICTIM)["blame"]
    assert blame["text"].endswith(also.removeprefix("also, in its own-module frame, "))
    assert POLLUTER in blame["culprits"]


def test_bisect_with_the_failing_order_names_the_import_and_the_polluter(
        chain: Seeds, tmp_path: Path) -> None:
    order = tmp_path / "order.txt"
    order.write_text(f"{POLLUTER}\n{CHAIN_VICTIM}\n")
    out = tmp_path / "bisect.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(chain.root)
        code = run_cli(["bisect", CHAIN_VICTIM, "tests", "--order-file", str(order),
                        "--store", str(tmp_path / "store"), "--json", str(out)])
    answer = json.loads(out.read_text())
    assert (code, answer["kind"]) == (0, "import-time")
    assert answer["import_time"]["causes"][0]["statement"] == \
        "tests/net/helpers/chain_helpers.py:4: lib.use_chain('other_b')"
    assert answer["polluters"] == [[POLLUTER]]
    own = answer["import_time"]["own_module"]
    assert own["polluters"] == [[POLLUTER]]
    assert answer["reproduce_all"] == [answer["import_time"]["passes"],
                                       answer["import_time"]["fails"], own["reproduce"]]
    assert run_printed(chain.root, own["reproduce"]).returncode == 1
