"""Shapes met on real suites (docs/validation.md), each reproduced on a small generated suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from suitegen import fillers, read_json, run_cli, write

from isoscan.search.shrink import MAX_SETS

# pykicad: a test that swaps pyparsing's grammar makes dozens of later tests fail 40 frames deep
# inside pyparsing's 7,000 lines.
BIG_MODULE_WITH_DEEP_FAILURE = "".join(
    f"def _pad_{i}(x):\n    return x + {i}\n\n" for i in range(1500)
) + """
import state

def descend(depth):
    if depth == 0:
        if state.FLAGS.get("grammar"):
            raise ValueError("grammar was replaced")
        return 0
    return descend(depth - 1) + 0
"""


def verdicts(report: Path) -> dict[str, str]:
    """The unstable tests of a seeds JSON report and their verdicts."""
    tests = read_json(report)["tests"]
    assert isinstance(tests, list)
    return {t["nodeid"]: t["verdict"] for t in tests if t["verdict"] != "stable"}


def test_failures_deep_in_a_big_module_are_not_rendered_as_long_tracebacks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest's long tracebacks re-parse the source of every frame: on pykicad they cost
    seconds per run and tripled `seeds`' time. isoscan keeps one line per failure."""
    root = write(tmp_path / "suite", {
        "deep.py": BIG_MODULE_WITH_DEEP_FAILURE,
        "tests/test_a_grammar.py": """
            import state

            def test_replaces_grammar():
                state.FLAGS["grammar"] = True
        """,
        "tests/test_b_parse.py": "import deep\n\n" + "".join(
            f"def test_parse_{i}():\n    assert deep.descend(40) == 0\n\n" for i in range(5)),
    })
    monkeypatch.chdir(root)
    out = tmp_path / "report.json"
    assert run_cli(["seeds", "tests", "--count", "0", "--timeout", "30",
                    "--json", str(out)]) == 1
    assert verdicts(out) == {f"tests/test_b_parse.py::test_parse_{i}": "order-dependent"
                             for i in range(5)}
    logs = "".join(p.read_text() for p in (root / ".isoscan" / "runs").glob("*/seg*/output.log"))
    assert "ValueError: grammar was replaced" in logs
    assert "Traceback (most recent call last)" in logs  # native: no source re-parsed per frame
    assert "return descend(depth - 1) + 0\n    ^" not in logs


def test_more_independent_polluters_than_bisect_looks_for_is_said(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pykicad: each of ~20 ASTTests tests rebinds the shared grammar; bisect stopped at 8 sets
    without saying that the rest still broke the victim."""
    polluters = "".join(f"""
def test_rebinds_{i}():
    state.FLAGS["grammar"] = {i}
""" for i in range(MAX_SETS + 2))
    root = write(tmp_path / "suite", {
        "tests/test_a_grammar.py": "import state\n" + polluters + fillers("a", 5),
        "tests/test_b_parse.py": """
            import state

            def test_parse():
                assert "grammar" not in state.FLAGS
        """,
    })
    monkeypatch.chdir(root)
    out = tmp_path / "bisect.json"
    assert run_cli(["bisect", "tests/test_b_parse.py::test_parse", "tests", "--timeout", "30",
                    "--json", str(out)]) == 0
    answer = read_json(out)
    found = answer["polluters"]
    assert isinstance(found, list) and len(found) == MAX_SETS
    assert answer["note"] == (f"stopped after {MAX_SETS} independent sets: the other 7 tests "
                              "still make it fail without them")
