"""Writing small pytest suites with planted bugs into a temporary folder.

Names and counts are inputs here: each test builds the suite it needs and asserts the
answer it planted.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from isoscan.cli import main

# The repository and the tests' own data, wherever a test file sits in tests/.
REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
EXAMPLES = REPO / "examples"

INI = "[pytest]\npythonpath = .\n"
STATE = "FLAGS: dict[str, object] = {}\n"


def write(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text(INI)
    (root / "state.py").write_text(STATE)
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))
    return root


def fillers(prefix: str, count: int) -> str:
    """``count`` independent passing tests."""
    return "".join(f"def test_{prefix}_{i}():\n    assert True\n\n" for i in range(count))


def run_cli(args: list[str]) -> int:
    return main(args)


def read_json(path: Path) -> dict[str, object]:
    value = json.loads(path.read_text())
    assert isinstance(value, dict)
    return value
