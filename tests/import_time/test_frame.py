"""The pytest arguments and commands of imports/frame.py: node ids survive as they are, module
order follows the suite's collection, and a rootdir other than the working directory works."""

from __future__ import annotations

import shlex
from pathlib import Path

from isoscan.execution.argv import Suite
from isoscan.import_time.frame import Frame, find_rootdir, modules_in_order

WEIRD = "tests/a/test_keys.py::TestKeys::test_key[na\\xefve/key::1 x]"
ORDER = ("tests/a/test_keys.py", "tests/b/test_other.py", "tests/c/test_more.py")


def test_modules_follow_the_collection_order() -> None:
    ids = ["tests/b/test_x.py::t1", "tests/a/test_y.py::t", "tests/b/test_x.py::t2", WEIRD]
    assert modules_in_order(ids) == ["tests/b/test_x.py", "tests/a/test_y.py",
                                     "tests/a/test_keys.py"]


def test_the_id_is_one_argument_and_the_commands_deselect_the_other_modules(
        tmp_path: Path) -> None:
    frame = Frame(WEIRD, tmp_path, ORDER)
    suite = Suite(paths=("tests",), pytest_args=("-p", "no:cacheprovider"), cwd=tmp_path)
    assert frame.args(["tests/c/test_more.py"], tmp_path) == [WEIRD, "tests/c/test_more.py"]
    assert frame.args(["tests/c/test_more.py"], tmp_path, victim_first=True)[0] == WEIRD
    passes = shlex.split(frame.command(suite))
    assert passes == ["python", "-m", "pytest", WEIRD, "-p", "no:cacheprovider"]
    fails = shlex.split(frame.command(suite, ["tests/b/test_other.py"], seed=7))
    assert fails == ["python", "-m", "pytest", WEIRD, "tests/b/test_other.py", "-p",
                     "no:cacheprovider", "--randomly-seed=7", "--deselect",
                     "tests/b/test_other.py::"]
    assert frame.suite(suite).paths == (WEIRD,)
    assert frame.suite(suite).pytest_args[-1] == f"--rootdir={tmp_path}"
    assert frame.without_id().args([], tmp_path) == ["tests/a/test_keys.py"]


def test_a_rootdir_below_the_working_directory_is_found(tmp_path: Path) -> None:
    # No ini file: pytest takes the rootdir from the argument `suite`, ids are relative to it.
    (tmp_path / "suite" / "pkg").mkdir(parents=True)
    (tmp_path / "suite" / "pkg" / "test_m.py").write_text("def test_m(): pass\n")
    suite = Suite(paths=("suite",), cwd=tmp_path)
    root = find_rootdir("pkg/test_m.py::test_m", suite)
    assert root == tmp_path / "suite"
    frame = Frame("pkg/test_m.py::test_m", root, ("pkg/test_m.py",))
    assert frame.args([], tmp_path) == ["suite/pkg/test_m.py::test_m"]
