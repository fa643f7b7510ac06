"""Scans (``scan_chain.py``): one pass over a starting order with a forked check of the victim at
checkpoints. Every checkpoint must be exactly the fresh trial [tests so far..., victim]: these
tests compare each one with that fresh trial on a suite whose fixtures of every scope change
what the victim sees."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from suitegen import write

from isoscan.cli import main
from isoscan.execution.argv import Suite
from isoscan.model.outcomes import Outcome
from isoscan.store.db import Store
from isoscan.trials.fork.client import ForkTrials
from isoscan.trials.scan import ScanStop

STATE = "FLAGS = {}\n"

# Module, class and victim-module fixtures that set a flag and clear it at teardown: a
# checkpoint that forgot to tear down a scope the victim does not share leaves a flag set.
SCOPED = {
    "state.py": STATE,
    "tests/test_a.py": textwrap.dedent("""
        import pytest
        import state

        @pytest.fixture(scope="module", autouse=True)
        def module_a():
            state.FLAGS["module_a"] = True
            yield
            del state.FLAGS["module_a"]

    """) + "".join(f"def test_a{i}():\n    assert state.FLAGS['module_a']\n\n" for i in range(6)),
    "tests/test_b.py": textwrap.dedent("""
        import pytest
        import state

        class TestB:
            @pytest.fixture(scope="class", autouse=True)
            def class_b(self):
                state.FLAGS["class_b"] = True
                yield
                del state.FLAGS["class_b"]

    """) + "".join(f"    def test_b{i}(self):\n        assert state.FLAGS['class_b']\n\n"
                  for i in range(4)) + "".join(
        f"def test_b_plain{i}():\n    pass\n\n" for i in range(3)),
    "tests/test_c.py": """
        import pytest
        import state

        @pytest.fixture(scope="module", autouse=True)
        def module_c():
            state.FLAGS["module_c"] = True
            yield
            del state.FLAGS["module_c"]

        def test_c0():
            pass

        def test_c1():
            pass

        def test_victim():
            assert state.FLAGS.get("module_c") is True
            assert "module_a" not in state.FLAGS, "module_a leaked"
            assert "class_b" not in state.FLAGS, "class_b leaked"
            assert "polluted" not in state.FLAGS, "polluted"
    """,
    "tests/test_d.py": "".join(f"def test_d{i}():\n    pass\n\n" for i in range(4)),
}
VICTIM = "tests/test_c.py::test_victim"


@pytest.fixture
def runner(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ForkTrials]:
    files = dict(SCOPED)
    extra = getattr(request, "param", {})
    files.update(extra)
    root = write(tmp_path / "suite", files)
    store = Store(tmp_path / "store")
    session = store.begin_session("test", root, [], [], None, None)
    trials = ForkTrials(Suite(paths=("tests",), cwd=root, timeout=30), store, session, "bisect")
    yield trials
    trials.close()
    store.close()


def prefix_of(trials: ForkTrials) -> list[str]:
    return [nodeid for nodeid in trials.collected() if nodeid != VICTIM]


def test_every_checkpoint_is_the_fresh_trial_of_the_same_order(runner: ForkTrials) -> None:
    prefix = prefix_of(runner)
    scan = runner.scan(prefix, VICTIM, checkpoints=len(prefix))
    assert scan is not None
    befores = [check.before for check in scan.checks]
    # Inside test_a.py and the class of test_b.py (scopes the victim does not share, torn down
    # in the checkpoint), and between modules; never after a test of the victim's own module
    # followed by another module (the chain already ended a scope the victim shares).
    assert {1, 2, 3, 6, 7, 10} <= set(befores)
    c1 = prefix.index("tests/test_c.py::test_c1") + 1
    assert c1 not in befores
    assert befores[-1] == len(prefix)  # the scan's own victim, after the whole order
    for check in scan.checks:
        fresh = runner.run([*prefix[:check.before], VICTIM]).outcome_of(VICTIM)
        assert (check.before, check.outcome) == (check.before, fresh)
    assert all(check.outcome is Outcome.PASSED for check in scan.checks)


POLLUTER = {"tests/test_b.py": SCOPED["tests/test_b.py"] + """
def test_polluter():
    state.FLAGS["polluted"] = True
"""}


@pytest.mark.parametrize("runner", [POLLUTER], indirect=True)
def test_a_scan_stops_at_the_first_checkpoint_after_the_polluter(runner: ForkTrials) -> None:
    prefix = prefix_of(runner)
    polluter = prefix.index("tests/test_b.py::test_polluter")
    scan = runner.scan(prefix, VICTIM, checkpoints=len(prefix))
    assert scan is not None
    first = scan.first(lambda outcome: outcome.is_failure)
    assert first == polluter + 1  # a checkpoint right after it: test_c0 comes next
    for check in scan.checks:
        assert check.outcome is (Outcome.FAILED if check.before > polluter else Outcome.PASSED)
    # It stopped there: the rest of the order never ran, nor did the victim at its end.
    assert scan.trial.outcome_of(prefix[-1]) is Outcome.NOT_RUN
    assert scan.trial.outcome_of(VICTIM) is Outcome.NOT_RUN


SETTER = {
    "tests/test_d.py": SCOPED["tests/test_d.py"] + """
import state

def test_sets_up():
    state.FLAGS["ready"] = True
""",
    "tests/test_e.py": """
import state

def test_needs_setup():
    assert state.FLAGS.get("ready")
""",
}


@pytest.mark.parametrize("runner", [SETTER], indirect=True)
def test_a_brittle_scan_stops_where_the_test_first_passes(runner: ForkTrials) -> None:
    brittle = "tests/test_e.py::test_needs_setup"
    prefix = [n for n in runner.collected() if n != brittle]
    setter = prefix.index("tests/test_d.py::test_sets_up")
    scan = runner.scan(prefix, brittle, stop=ScanStop.PASSES, checkpoints=8)
    assert scan is not None
    assert scan.first(lambda outcome: not outcome.is_failure) == setter + 1


LATE = {
    "state.py": STATE,
    **{f"tests/test_m{m:02d}.py": "".join(f"def test_{m}_{i}():\n    pass\n\n" for i in range(10))
       for m in range(12)},
    "tests/test_m09.py": "import state\n\n" + "".join(
        f"def test_9_{i}():\n    pass\n\n" for i in range(5))
    + "def test_late_polluter():\n    state.FLAGS['polluted'] = True\n",
    "tests/test_z.py": "import state\n\ndef test_victim():\n    assert 'polluted' not in "
                       "state.FLAGS\n",
}


@pytest.mark.slow
def test_bisect_cuts_a_cold_start_at_its_scan_and_names_a_late_polluter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "suite", LATE)
    monkeypatch.chdir(root)
    out = root / "answer.json"
    # --no-sweep: the sweep is not what this test is about (tests/seeds/test_sweep.py), and
    # in subprocess trials it would run the polluter before each of the 116 other tests.
    code = main(["bisect", "tests/test_z.py::test_victim", "tests", "--store", ".iso",
                 "--no-explain", "--no-sweep", "--json", str(out), "--timeout", "30"])
    captured = capsys.readouterr()
    steps = captured.err + captured.out
    answer = json.loads(out.read_text())
    assert code == 0, steps
    assert answer["polluters"] == [["tests/test_m09.py::test_late_polluter"]]
    # 116 tests before it; the scan cut the order after the polluter, not at its end.
    assert "scan of the starting order: fails after its first" in steps
    cut = int(steps.split("fails after its first ")[1].split()[0])
    assert 96 <= cut < 116
    assert "retry of those" in steps and "the other 115 tests without it: clean" in steps
    # The search starts from the tests since the last checkpoint where the victim passed.
    assert "of the order are enough alone" in steps
    # The same answer from subprocess trials, which never scan.
    code = main(["bisect", "tests/test_z.py::test_victim", "tests", "--store", ".iso2",
                 "--no-explain", "--no-fork", "--no-sweep", "--json", str(out),
                 "--timeout", "30"])
    assert code == 0
    assert json.loads(out.read_text())["polluters"] == answer["polluters"]
