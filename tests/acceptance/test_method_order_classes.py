"""A suite whose classes depend on their own method order: recognised once, and with
--keep-class-order its classes stay in order while a real victim elsewhere is still found."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from suitegen import read_json, run_cli, write

VICTIM = "tests/test_b.py::test_victim"
USERS = "tests/test_users.py::TestUsers"
ORDERED_CLASS = {
    "tests/test_users.py": """
        import unittest

        USERS = {}


        class TestUsers(unittest.TestCase):
            def test_01_create(self):
                USERS.clear()
                USERS["ann"] = {"name": "ann"}

            def test_02_rename(self):
                USERS["ann"]["name"] = "anne"
                self.assertEqual(USERS["ann"]["name"], "anne")

            def test_03_delete(self):
                del USERS["ann"]
                self.assertNotIn("ann", USERS)
    """,
    "tests/test_a.py": """
        import state

        def test_polluter():
            state.FLAGS["polluted"] = True
    """,
    "tests/test_b.py": """
        import state

        def test_victim():
            assert "polluted" not in state.FLAGS
    """,
}


def seeds(tmp_path: Path, name: str, *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / f"{name}.json"
    code = run_cli(["seeds", "tests", "--count", "3", "--seed", "7", *args,
                    "--json", str(out)])
    return code, read_json(out), name


def verdicts(report: dict[str, Any]) -> dict[str, str]:
    return {t["nodeid"]: t["verdict"] for t in report["tests"] if t["verdict"] != "stable"}


def test_a_class_that_depends_on_its_method_order_is_said_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", ORDERED_CLASS))
    code, report, _ = seeds(tmp_path, "shuffled")
    assert verdicts(report) == {VICTIM: "order-dependent",
                                f"{USERS}::test_02_rename": "brittle",
                                f"{USERS}::test_03_delete": "brittle"}
    assert report["class_order"] == [{"class": USERS, "tests": [
        f"{USERS}::test_02_rename", f"{USERS}::test_03_delete"]}]
    assert code == 1
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("depend on their own method order") == 1
    assert out.count(USERS) == 1 + 2  # the class's line, then the gate's two cases
    # The real victim is still listed: its verdict line, then its node id.
    assert re.search(rf"order-dependent failed in [#\d ]+ {re.escape(VICTIM)}", out), out


def test_keep_class_order_leaves_only_the_real_victim(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(write(tmp_path / "suite", ORDERED_CLASS))
    code, report, _ = seeds(tmp_path, "kept", "--keep-class-order")
    assert verdicts(report) == {VICTIM: "order-dependent"}
    assert report["class_order"] == []
    assert code == 1
    # Every planned run really shuffled around the class: the reversed run ran the victim
    # before its polluter, and the class's methods in their own order.
    users = [t for t in report["tests"] if t["nodeid"].startswith(USERS)]
    assert all(set(t["outcomes"].values()) == {"passed"} for t in users)
