"""The fork server's assertion-rewriting helper (``prerewrite.py``): it guesses the test files
pytest will import, rewrites them exactly as pytest would, and never makes a trial differ from
one where pytest rewrote everything itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from _pytest.assertion import rewrite

from isoscan.execution import prerewrite
from isoscan.execution.argv import Suite
from isoscan.model.outcomes import Outcome
from isoscan.store.db import Store
from isoscan.trials.fork.client import ForkTrials
from isoscan.trials.subprocess_trials import SubprocessTrials

ASSERTS = """
def value():
    return 3

def test_one():
    assert value() == 4

def test_two():
    assert [1, 2] == [1, {n}]
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")


def test_candidates_follow_python_files_and_skip_what_pytest_skips(
        pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npython_files = test_*.py check_*.py\nnorecursedirs = skipme\n")
    write(pytester.path, {
        "tests/test_b.py": "", "tests/test_a.py": "", "tests/helper.py": "",
        "tests/sub/check_c.py": "", "tests/skipme/test_d.py": "",
        "tests/.hidden/test_e.py": "", "tests/env/pyvenv.cfg": "", "tests/env/test_f.py": "",
        "other/plain.py": "",
    })
    config = pytester.parseconfig("tests", "other/plain.py::test_x")
    found = [p.relative_to(pytester.path).as_posix() for p in prerewrite.candidates(config)]
    assert found == ["tests/sub/check_c.py", "tests/test_a.py", "tests/test_b.py",
                     "other/plain.py"]


def finished(helper: prerewrite.Prerewriter) -> None:
    """Waits for the helper to exit (reaping it here), then reads the list it published."""
    assert helper.pid is not None
    os.waitpid(helper.pid, 0)
    helper.pid = None
    assert helper._published() is not None


def test_candidates_follow_testpaths_globs_without_arguments(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntestpaths = pkg*/tests\n")
    write(pytester.path, {"pkg_a/tests/test_a.py": "", "pkg_b/tests/test_b.py": "",
                          "other/test_c.py": ""})
    config = pytester.parseconfig()
    found = [p.relative_to(pytester.path).as_posix() for p in prerewrite.candidates(config)]
    assert found == ["pkg_a/tests/test_a.py", "pkg_b/tests/test_b.py"]


@pytest.fixture
def helper_done(pytester: pytest.Pytester) -> Iterator[tuple[prerewrite.Prerewriter,
                                                             pytest.Config, list[Path]]]:
    """A helper that has finished every file: rewritten in a fork, handed over by file."""
    pytester.makeini("[pytest]\n")
    write(pytester.path, {f"test_m{n}.py": ASSERTS.format(n=n) for n in range(4)})
    config = pytester.parseconfig(str(pytester.path))
    original = rewrite._rewrite_test
    helper = prerewrite.Prerewriter(config, original, rewrite, pytester.path)
    helper.start()
    try:
        finished(helper)
        yield helper, config, helper.files
    finally:
        helper.stop()
    assert rewrite._rewrite_test is original
    assert not helper.folder.exists()


def test_the_server_gets_exactly_what_pytest_would_make(helper_done: tuple[
        prerewrite.Prerewriter, pytest.Config, list[Path]]) -> None:
    helper, config, files = helper_done
    assert len(files) == 4
    for path in files:
        first, code = rewrite._rewrite_test(path, config)  # the wrapper, while installed
        own_first, own_code = helper.original(path, config)
        assert first == own_first
        assert code == own_code  # code objects compare by bytecode, constants, names...
        assert code.co_consts == own_code.co_consts
    assert helper.taken == 4


def test_a_file_changed_since_the_helper_read_it_is_rewritten_again(helper_done: tuple[
        prerewrite.Prerewriter, pytest.Config, list[Path]]) -> None:
    helper, config, files = helper_done
    files[0].write_text("def test_changed():\n    assert 'new' == 'old'\n", encoding="utf-8")
    _, code = rewrite._rewrite_test(files[0], config)
    assert "test_changed" in code.co_names
    assert helper.taken == 0
    _, code = rewrite._rewrite_test(files[1], config)
    assert helper.taken == 1


def test_a_rewrite_warning_is_left_for_pytest_to_raise(pytester: pytest.Pytester) -> None:
    """``assert (x, "message")`` warns while rewriting; -W error makes that a collection error,
    so the helper's copy, made without anyone to see the warning, must not be used."""
    pytester.makeini("[pytest]\n")
    write(pytester.path, {"test_tuple.py": "def test_t():\n    assert (1 == 2, 'never')\n"})
    config = pytester.parseconfig(str(pytester.path))
    helper = prerewrite.Prerewriter(config, rewrite._rewrite_test, rewrite, pytester.path)
    helper.start()
    try:
        finished(helper)
        files = helper.files
        with pytest.warns(pytest.PytestAssertRewriteWarning, match="always true"):
            rewrite._rewrite_test(files[0], config)
        assert helper.taken == 0
    finally:
        helper.stop()


# A conftest that holds the server until its helper has exited (waitid with WNOWAIT leaves it
# for the server to reap): every test file below then comes from the helper, deterministically.
WAIT_FOR_HELPER = """
import os

def _children():
    me = os.getpid()
    found = []
    for task in os.listdir(f"/proc/{me}/task"):
        with open(f"/proc/{me}/task/{task}/children") as listing:
            found += [int(pid) for pid in listing.read().split()]
    return found

for pid in _children():
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
"""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the helper needs a second CPU")
def test_fork_trials_with_helper_rewritten_files_equal_subprocess_trials(
        tmp_path: Path) -> None:
    root = tmp_path / "suite"
    write(root, {"pytest.ini": "[pytest]\n", "conftest.py": WAIT_FOR_HELPER,
                 **{f"tests/test_m{n}.py": ASSERTS.format(n=n) for n in range(3)}})
    suite = Suite(paths=("tests",), cwd=root)
    store = Store(tmp_path / "store")
    order = [f"tests/test_m{n}.py::test_{name}" for n in range(3) for name in ("one", "two")]
    fork = ForkTrials(suite, store, store.begin_session("t", root, [], [], None, None), "x")
    try:
        forked = fork.run(order)
        assert fork.fallback_reason is None
        assert fork.prerewritten == 3
    finally:
        fork.close()
    plain = SubprocessTrials(suite, store, store.begin_session("t", root, [], [], None, None),
                             "x").run(order)
    assert forked.outcomes == plain.outcomes
    assert forked.outcomes["tests/test_m2.py::test_two"] is Outcome.PASSED
    assert forked.outcomes["tests/test_m0.py::test_one"] is Outcome.FAILED
    assert forked.run_id is not None and plain.run_id is not None
    forked_messages = {k: v.message for k, v in store.results(forked.run_id).items()}
    plain_messages = {k: v.message for k, v in store.results(plain.run_id).items()}
    assert forked_messages == plain_messages
    # pytest's rewritten introspection (an assert left alone has no message at all).
    assert forked_messages["tests/test_m0.py::test_one"] == "assert 3 == 4"
    store.close()


def _recorded_run(root: Path, records: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "tests", "-p", "isoscan.plugin",
                           f"--isoscan-record={records}", "--isoscan-prerewrite",
                           "-p", "no:randomly", "-q",
                           "-p", "no:cacheprovider", *args],
                          cwd=root, capture_output=True, text=True, timeout=120, check=False)


def _collected_events(records: Path) -> list[dict[str, object]]:
    events = [json.loads(line) for path in sorted(records.glob("*.jsonl"))
              for line in path.read_text().splitlines()]
    return [e for e in events if e["e"] == "collected"]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the helper needs a second CPU")
def test_a_recorded_run_takes_the_helpers_code_and_reports_as_plain_pytest(
        tmp_path: Path) -> None:
    """``isoscan seeds`` runs pytest with ``-p isoscan.plugin --isoscan-record
    --isoscan-prerewrite``: that process starts the helper too. Every file comes from it (the
    conftest waits for it), and the run reports exactly what plain pytest reports."""
    root = tmp_path / "suite"
    write(root, {"pytest.ini": "[pytest]\n", "conftest.py": WAIT_FOR_HELPER,
                 **{f"tests/test_m{n}.py": ASSERTS.format(n=n) for n in range(3)}})
    records = tmp_path / "records"
    recorded = _recorded_run(root, records, f"--junitxml={tmp_path / 'recorded.xml'}")
    plain = subprocess.run([sys.executable, "-m", "pytest", "tests", "-p", "no:randomly", "-q",
                            "-p", "no:cacheprovider", f"--junitxml={tmp_path / 'plain.xml'}"],
                           cwd=root, capture_output=True, text=True, timeout=120, check=False)
    assert recorded.returncode == plain.returncode == 1, recorded.stdout + recorded.stderr
    assert [e.get("prerewritten") for e in _collected_events(records)] == [3]
    assert [p.name for p in records.iterdir()] == [p.name for p in records.glob("*.jsonl")]
    assert _cases(tmp_path / "recorded.xml") == _cases(tmp_path / "plain.xml")
    # pytest's rewritten introspection, which an assert left alone does not give.
    assert ("test_one", "assert 3 == 4\n +  where 3 = value()") in _cases(tmp_path / "plain.xml")


def _cases(junit: Path) -> list[tuple[str, str]]:
    tree = ElementTree.parse(junit)
    return sorted((case.get("name", ""), failure.get("message", ""))
                  for case in tree.iter("testcase") for failure in case.iter("failure"))


def test_no_helper_under_xdist(tmp_path: Path) -> None:
    """xdist's workers collect side by side already: no helper in them or the controller."""
    root = tmp_path / "suite"
    write(root, {"pytest.ini": "[pytest]\n",
                 **{f"tests/test_m{n}.py": ASSERTS.format(n=n) for n in range(3)}})
    records = tmp_path / "records"
    run = _recorded_run(root, records, "-p", "xdist", "-n", "2")
    assert run.returncode == 1, run.stdout + run.stderr
    collected = _collected_events(records)
    assert len(collected) == 2  # one per worker
    assert all("prerewritten" not in event for event in collected)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the helper needs a second CPU")
def test_with_the_bytecode_cache_on_pytest_caches_the_helpers_code_and_reads_it_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest writes the helper's code to its own pyc cache as if it had rewritten the file,
    and the next run reads that cache instead of asking for a rewrite at all."""
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    root = tmp_path / "suite"
    write(root, {"pytest.ini": "[pytest]\n", "conftest.py": WAIT_FOR_HELPER,
                 **{f"tests/test_m{n}.py": ASSERTS.format(n=n) for n in range(3)}})
    counts = []
    for run in ("first", "second"):
        records = tmp_path / run
        done = _recorded_run(root, records, f"--junitxml={tmp_path / run}.xml")
        assert done.returncode == 1, done.stdout + done.stderr
        counts.append([e.get("prerewritten") for e in _collected_events(records)])
        assert len(list((root / "tests" / "__pycache__").glob("test_m*-pytest-*.pyc"))) == 3
    assert counts == [[3], [0]]
    assert _cases(tmp_path / "second.xml") == _cases(tmp_path / "first.xml")
    assert ("test_one", "assert 3 == 4\n +  where 3 = value()") in _cases(tmp_path / "second.xml")
