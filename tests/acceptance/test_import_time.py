"""Import-time dependences: two kinds of alone, and the import that breaks a test, named.

Each suite plants a module that changes state when it is imported, so a test passes alone in its
own module (``pytest file::id``) and fails whenever the whole suite is collected. Each suite runs
``isoscan seeds`` once in a module-scoped fixture; the tests then assert the exact modules named,
and run the two printed commands to see them pass and fail.
"""

from __future__ import annotations

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
from report.writers.test_emit import documented, key_paths
from suitegen import fillers, run_cli, write

# -- suites ----------------------------------------------------------------------------------
# A helper rebinds a library's global when it is imported; one test module imports it. No
# conftest anywhere. A victim is parametrized with brackets, `::`, `/` and escaped unicode.
REBOUND = {
    "netlib.py": 'network = "real"\n',
    "tests/helpers/__init__.py": "",
    "tests/helpers/net.py": """
        import netlib

        netlib.network = "fake"  # switches the library for every test collected with it
    """,
    "tests/a/test_client.py": """
        import pytest

        import netlib

        @pytest.mark.parametrize("key", ["na\\u00efve/key::1"])
        def test_uses_real_network(key):
            assert netlib.network == "real"

        def test_plain_network():
            assert netlib.network == "real"
    """,
    "tests/b/test_other.py": """
        from tests.helpers import net

        def test_other():
            assert net
    """,
    "tests/c/test_plain.py": fillers("plain", 2),
    # Run before the victims (the reversed order) it puts the library back: without the check in
    # their own module, the victims would be called brittle with this test as state-setter.
    "tests/d/test_reset.py": """
        import netlib

        def test_resets_network():
            netlib.network = "real"
    """,
}
UNICODE_VICTIM = "tests/a/test_client.py::test_uses_real_network[na\\xefve/key::1]"
PLAIN_VICTIM = "tests/a/test_client.py::test_plain_network"

# Nested conftests: the victim's own folder has one, and the conftest of another folder sets an
# environment variable at import time.
NESTED = {
    "tests/conftest.py": """
        import pytest

        @pytest.fixture
        def greeting():
            return "hi"
    """,
    "tests/a/conftest.py": """
        import pytest

        @pytest.fixture
        def default_mode():
            return "modern"
    """,
    "tests/a/test_mode.py": """
        import os

        def test_default_mode(default_mode, greeting):
            assert os.environ.get("APP_MODE", "modern") == default_mode
    """,
    "tests/b/conftest.py": """
        import os

        os.environ["APP_MODE"] = "legacy"
    """,
    "tests/b/test_legacy.py": """
        def test_legacy(greeting):
            assert greeting == "hi"
    """,
    "tests/c/test_misc.py": fillers("misc", 2),
}

# Two helpers each add a flag at import; only both together break the victim.
TOGETHER = {
    "flags.py": "ENABLED: set[str] = set()\n",
    "tests/helpers/__init__.py": "",
    "tests/helpers/alpha.py": """
        import flags

        flags.ENABLED.add("alpha")
    """,
    "tests/helpers/beta.py": """
        import flags

        flags.ENABLED.add("beta")
    """,
    "tests/a/test_pipeline.py": """
        import flags

        def test_classic_pipeline():
            assert not {"alpha", "beta"} <= flags.ENABLED
    """,
    "tests/b/test_alpha.py": """
        from tests.helpers import alpha

        def test_alpha():
            assert alpha
    """,
    "tests/c/test_beta.py": """
        from tests.helpers import beta

        def test_beta():
            assert beta
    """,
    "tests/d/test_misc.py": fillers("misc", 2),
}

# Really brittle: needs a test of another module to run first, in its own module too.
BRITTLE = {
    "registry.py": "PLUGINS: dict[str, object] = {}\n",
    "tests/test_plugins_setup.py": """
        import registry

        def test_registers_upper():
            registry.PLUGINS["upper"] = str.upper
    """,
    "tests/test_plugins_use.py": """
        import registry

        def test_upper_available():
            assert "upper" in registry.PLUGINS
    """,
}


@dataclass
class Seeds:
    code: int
    doc: dict[str, Any]
    root: Path
    store: Path

    def test(self, nodeid: str) -> dict[str, Any]:
        found = [t for t in self.doc["tests"] if t["nodeid"] == nodeid]
        assert found, f"{nodeid} not in {[t['nodeid'] for t in self.doc['tests']]}"
        return found[0]

    def verdicts(self) -> dict[str, str]:
        return {t["nodeid"]: t["verdict"] for t in self.doc["tests"]}

    def dependence(self, nodeid: str) -> dict[str, Any]:
        entry = self.test(nodeid)
        assert entry["verdict"] == "import-time", entry["evidence"]["note"]
        found = entry["evidence"]["import_time"]
        assert isinstance(found, dict)
        return found


def seeds(root: Path, *args: str) -> Seeds:
    out = root.parent / f"{root.name}.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("NO_COLOR", "1")
        code = run_cli(["seeds", "tests", "--count", "0", "--replays", "2", "--timeout", "60",
                        "--json", str(out), "--markdown", str(root.parent / f"{root.name}.md"),
                        *args])
    return Seeds(code, json.loads(out.read_text()), root, root / ".isoscan")


def pytest_exit(root: Path, command: str) -> int:
    """Runs a printed command as a person would, as its own process; ``python`` is this one."""
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "pytest"], command
    return subprocess.run([sys.executable, *argv[1:]], cwd=root, capture_output=True,
                          timeout=120, check=False).returncode


def suite(factory: pytest.TempPathFactory, name: str, files: dict[str, str]) -> Path:
    return write(factory.mktemp(name) / "suite", files)


@pytest.fixture(scope="module")
def rebound(tmp_path_factory: pytest.TempPathFactory) -> Seeds:
    return seeds(suite(tmp_path_factory, "rebound", REBOUND))


@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> Seeds:
    return seeds(suite(tmp_path_factory, "nested", NESTED))


@pytest.fixture(scope="module", params=["fork", "no-fork"])
def together(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Seeds:
    extra = ("--no-fork",) if request.param == "no-fork" else ()
    return seeds(suite(tmp_path_factory, f"together-{request.param}", TOGETHER), *extra)


# -- a helper that rebinds a global, no conftest -------------------------------------------------
def test_a_rebinding_helper_is_named_and_the_test_is_not_brittle(rebound: Seeds) -> None:
    assert rebound.code == 1  # import-time is gated by default
    assert rebound.verdicts() == {
        UNICODE_VICTIM: "import-time", PLAIN_VICTIM: "import-time",
        "tests/b/test_other.py::test_other": "stable",
        "tests/c/test_plain.py::test_plain_0": "stable",
        "tests/c/test_plain.py::test_plain_1": "stable",
        "tests/d/test_reset.py::test_resets_network": "stable"}
    for victim in (UNICODE_VICTIM, PLAIN_VICTIM):
        evidence = rebound.test(victim)["evidence"]
        assert evidence["passed_runs"]  # in the reversed order, after the reset: once "brittle"
        assert evidence["alone"][0] == "failed"  # with the whole suite collected
        assert set(evidence["alone_in_module"]) == {"passed"}
        found = rebound.dependence(victim)
        assert found["modules"] == ["tests/b/test_other.py"]
        cause = found["causes"][0]
        assert (cause["module"], cause["via"], cause["action"]) == (
            "tests/helpers/net.py", "tests/b/test_other.py", "rebinds netlib.network")
        assert cause["statement"] == ('tests/helpers/net.py:4: netlib.network = "fake"  '
                                      '# switches the library for every test collected with it')
        assert found["text"] == ("fails when tests/b/test_other.py is collected: importing "
                                 "tests/helpers/net.py rebinds netlib.network")


def test_both_printed_commands_reproduce_pass_then_fail(rebound: Seeds) -> None:
    for victim in (UNICODE_VICTIM, PLAIN_VICTIM):
        found = rebound.dependence(victim)
        assert shlex.split(found["passes"])[3] == victim  # the node id itself, unicode escape
        assert pytest_exit(rebound.root, found["passes"]) == 0
        assert pytest_exit(rebound.root, found["fails"]) == 1
        assert "tests/b/test_other.py" in shlex.split(found["fails"])


def test_terminal_and_markdown_say_it_plainly(rebound: Seeds) -> None:
    sentence = ("fails when tests/b/test_other.py is collected: importing tests/helpers/net.py "
                "rebinds netlib.network")
    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(buffer):
        mp.chdir(rebound.root)
        mp.setenv("NO_COLOR", "1")
        assert run_cli(["report"]) == 1
    terminal = buffer.getvalue()
    assert sentence in terminal
    assert f"passes alone in its own module: python -m pytest {PLAIN_VICTIM}" in terminal
    markdown = (rebound.root.parent / "suite.md").read_text()
    assert sentence in markdown
    assert (f"fails with tests/b/test_other.py collected too: python -m pytest {PLAIN_VICTIM} "
            "tests/b/test_other.py --deselect tests/b/test_other.py::") in markdown


def test_baseline_lists_the_import_time_case_and_passes_the_gate(rebound: Seeds,
                                                                 tmp_path: Path) -> None:
    base = tmp_path / "baseline.json"
    assert run_cli(["baseline", str(rebound.store), "-o", str(base)]) == 0
    cases = json.loads(base.read_text())["cases"]
    assert {(c["nodeid"], c["verdict"], tuple(c["polluters"])) for c in cases} == {
        (victim, "import-time", ("tests/b/test_other.py",))
        for victim in (UNICODE_VICTIM, PLAIN_VICTIM)}
    assert run_cli(["report", str(rebound.store), "--baseline", str(base)]) == 0
    assert run_cli(["report", str(rebound.store), "--fail-on", "brittle"]) == 0


def test_every_import_time_key_is_documented(rebound: Seeds) -> None:
    found = {p for p in key_paths(rebound.doc) if "import_time" in p or "alone" in p}
    assert "tests[].evidence.import_time.causes[].statement" in found
    assert not found - documented()


def test_bisect_gives_the_same_answer_and_exits_0(rebound: Seeds, tmp_path: Path) -> None:
    out = tmp_path / "bisect.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(rebound.root)
        code = run_cli(["bisect", PLAIN_VICTIM, "tests", "--store", str(tmp_path / "store"),
                        "--json", str(out)])
    answer = json.loads(out.read_text())
    assert (code, answer["kind"]) == (0, "import-time")
    assert answer["import_time"]["modules"] == ["tests/b/test_other.py"]
    assert answer["import_time"]["causes"][0]["module"] == "tests/helpers/net.py"
    assert answer["reproduce_all"] == [answer["import_time"]["passes"],
                                       answer["import_time"]["fails"]]


# -- nested conftests: another folder's conftest sets an env var ----------------------------------
def test_a_nested_conftest_is_named_through_its_folders_test_module(nested: Seeds) -> None:
    victim = "tests/a/test_mode.py::test_default_mode"
    assert nested.verdicts()[victim] == "import-time"
    assert set(nested.verdicts().values()) == {"import-time", "stable"}
    found = nested.dependence(victim)
    assert found["modules"] == ["tests/b/test_legacy.py"]
    cause = found["causes"][0]
    assert (cause["module"], cause["via"], cause["action"]) == (
        "tests/b/conftest.py", "tests/b/test_legacy.py", "sets env APP_MODE")
    assert cause["statement"] == 'tests/b/conftest.py:4: os.environ["APP_MODE"] = "legacy"'
    assert pytest_exit(nested.root, found["passes"]) == 0
    assert pytest_exit(nested.root, found["fails"]) == 1


# -- two modules that only break it together (with and without fork trials) -----------------------
def test_two_modules_needed_together_are_both_named(together: Seeds) -> None:
    victim = "tests/a/test_pipeline.py::test_classic_pipeline"
    assert together.verdicts()[victim] == "import-time"
    found = together.dependence(victim)
    assert found["modules"] == ["tests/b/test_alpha.py", "tests/c/test_beta.py"]
    assert found["text"] == (
        "fails when tests/b/test_alpha.py and tests/c/test_beta.py are collected: importing "
        "tests/helpers/alpha.py mutates flags.ENABLED; importing tests/helpers/beta.py mutates "
        "flags.ENABLED")
    assert pytest_exit(together.root, found["passes"]) == 0
    assert pytest_exit(together.root, found["fails"]) == 1


# -- a test that really fails alone, in its own module too, stays brittle ------------------------
def test_a_test_failing_alone_in_its_own_module_stays_brittle(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    run = seeds(suite(tmp_path_factory, "brittle", BRITTLE))
    victim = "tests/test_plugins_use.py::test_upper_available"
    assert run.verdicts() == {victim: "brittle",
                              "tests/test_plugins_setup.py::test_registers_upper": "stable"}
    evidence = run.test(victim)["evidence"]
    assert set(evidence["alone_in_module"]) == {"failed"}
    assert evidence["import_time"] is None
    assert "in its own module too" in run.test(victim)["blame"]["text"]
    assert "tests/test_plugins_setup.py::test_registers_upper" in \
        run.test(victim)["blame"]["culprits"]
    assert pytest_exit(run.root, f"python -m pytest {victim}") == 1  # fails alone by id
