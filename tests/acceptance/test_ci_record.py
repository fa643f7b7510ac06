"""Record an ordinary pytest run (as the CI examples do), replay it elsewhere with
``isoscan bisect VICTIM --from DIR``.

The suite runs under ``pytest -n 2`` with ``--dist loadfile`` and two test files, so each file
has a worker of its own. It has two planted bugs: a leftover across workers (each process
empties a shared SQLite table when its session starts; the importer on one worker adds rows
that the ledger's test on the other worker counts) and a serial polluter on one worker (a
module global). The record is copied to another folder and replayed in a fresh clone of the
same commit, as a developer would after downloading a red build's artifact.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import suitegen
from acceptance.test_parallel_culprits import (
    EMPTIED,
    IMPORTER,
    LEDGER,
    LOADFILE,
    ON_PATH,
    SHARED_DB,
)
from suitegen import read_json, run_cli, write

from isoscan.execution.recorded_run import read_recorded_run
from isoscan.model.outcomes import Outcome
from isoscan.report.foreign_junit import JUnitRun, read_run

EXAMPLES = suitegen.EXAMPLES / "ci"
SEED = 7
# The leftover across workers of test_parallel_culprits.py (each process empties the table when
# its session starts), with a serial polluter and its victim added to the importer's module.
CONFTEST = ON_PATH + EMPTIED.format(scope='scope="session"')
IMPORTER_AND_FLAG = IMPORTER + """
import state


def test_importer_sets_flag():
    state.FLAGS["polluted"] = True


def test_recording_leaves_the_tests_own_properties_alone(request):
    assert request.node.user_properties == []


def test_importer_reads_flag():
    assert "polluted" not in state.FLAGS
"""
LEDGER_VICTIM = "tests/test_ledger.py::test_ledger_starts_empty"
LEFTOVER = "tests/test_importer.py::test_import_leaves_rows"
FLAG_VICTIM = "tests/test_importer.py::test_importer_reads_flag"
FLAG_POLLUTER = "tests/test_importer.py::test_importer_sets_flag"


@dataclass(frozen=True)
class Recorded:
    checkout: Path  # the CI job's checkout, a git repository
    record: Path  # the folder the job's pytest run recorded into
    other_run: Path  # a second, serial run of the same checkout, recorded elsewhere


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def example_command(name: str) -> list[str]:
    """The recorded pytest command of a shipped CI example, on this machine's interpreter."""
    lines = [line.strip().removeprefix("- ").removeprefix("run: ")
             for line in (EXAMPLES / name).read_text().splitlines()]
    found = [line for line in lines if line.startswith("python -m pytest")]
    assert len(found) == 1, found
    argv = shlex.split(found[0])
    return [sys.executable, *argv[1:]]


def pytest_run(cwd: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The CI job: a checkout of a commit, the example's recorded pytest run under ``-n 2``
    with a fixed seed (not reordering, so the planted order is the run's)."""
    checkout = write(tmp_path_factory.mktemp("ci") / "checkout", {
        "tests/db.py": SHARED_DB, "conftest.py": CONFTEST,
        "tests/test_importer.py": IMPORTER_AND_FLAG, "tests/test_ledger.py": LEDGER})
    (checkout / "pytest.ini").write_text(LOADFILE)
    (checkout / ".gitignore").write_text("shared.sqlite\nisoscan-record/\nother-run/\n")
    git(checkout, "init", "-q")
    git(checkout, "add", ".")
    git(checkout, "commit", "-q", "-m", "the suite")
    argv = example_command("github-actions.yml")
    assert argv[1:] == example_command("gitlab-ci.yml")[1:]
    argv[argv.index("-n") + 1] = "2"
    run = pytest_run(checkout, [*argv, f"--randomly-seed={SEED}", "--randomly-dont-reorganize"])
    assert run.returncode == 1, run.stdout + run.stderr
    record = checkout / "isoscan-record"
    other = pytest_run(checkout, [sys.executable, "-m", "pytest", "tests/test_ledger.py",
                                  "-p", "isoscan.plugin", "--isoscan-record=other-run"])
    assert other.returncode == 0, other.stdout + other.stderr
    return Recorded(checkout, record, checkout / "other-run")


def bisect_from(record: Path, victim: str, store: Path, *extra: str) -> tuple[int, Path]:
    out = store.parent / f"{store.name}.json"
    code = run_cli(["bisect", victim, "--from", str(record), "--timeout", "20", "--store",
                    str(store), "--json", str(out), *extra])
    return code, out


def test_the_record_has_each_workers_order_times_seed_and_commit(recorded: Recorded) -> None:
    run = read_recorded_run(recorded.record)
    assert (run.workers, run.seed) == (2, SEED)
    assert run.git_head == git(recorded.checkout, "rev-parse", "HEAD")
    assert sorted(run.failed()) == sorted([FLAG_VICTIM, LEDGER_VICTIM])
    orders = sorted(p.order for p in run.processes)
    assert [o[0].split("::")[0] for o in orders] == ["tests/test_importer.py",
                                                     "tests/test_ledger.py"]
    assert all(e.finished is not None and e.finished >= e.started
               for p in run.processes for e in p.executions)
    # Next to the run's JUnit XML, left as pytest writes it; `isoscan report DIR` reads that
    # file with the exact node ids and the seed the records give.
    assert "isoscan" not in (recorded.record / "junit.xml").read_text()
    junit = recorded.record / "junit.xml"
    report, errors = read_run(JUnitRun(str(junit), (junit,)))
    assert report is not None and errors == []
    assert report.seed == SEED
    assert sorted(k for k, v in report.results.items() if v.outcome.is_failure) == sorted(
        [FLAG_VICTIM, LEDGER_VICTIM])
    # A run that is only recorded does nothing else: no assertion-rewriting helper.
    events = [json.loads(line) for path in recorded.other_run.glob("*.jsonl")
              for line in path.read_text().splitlines()]
    assert [e for e in events if e["e"] == "collected" and "prerewritten" in e] == []


def test_bisect_from_a_copied_record_names_each_polluter(recorded: Recorded,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's machine: a clone of the same commit, the artifact downloaded elsewhere."""
    downloaded = tmp_path / "downloads" / "isoscan-record"
    shutil.copytree(recorded.record, downloaded)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(recorded.checkout), str(clone))
    monkeypatch.chdir(clone)
    store = tmp_path / "store"

    code, out = bisect_from(downloaded, LEDGER_VICTIM, store, "--no-explain")
    answer = read_json(out)
    assert code == 0, answer
    assert answer["kind"] == "parallel-only"
    assert answer["polluters"] == [[LEFTOVER]]
    parallel = answer["parallel"]
    assert isinstance(parallel, dict)
    assert parallel["mechanism"] == "leftover"
    assert f"--randomly-seed={SEED}" in str(answer["reproduce"])  # the recorded seed, replayed

    code, out = bisect_from(downloaded, FLAG_VICTIM, store, "--no-explain")
    answer = read_json(out)
    assert code == 0, answer
    assert answer["kind"] == "victim"
    assert answer["polluters"] == [[FLAG_POLLUTER]]
    assert "-n 2" in str(answer["source"]) and f"seed {SEED}" in str(answer["source"])

    # Each --from is a stored run like any other: the recorded seed, workers and orders.
    with sqlite3.connect(store / "isoscan.db") as db:
        runs = db.execute("SELECT id, seed, workers, ordering FROM runs WHERE purpose = ?",
                          ("recorded",)).fetchall()
        assert [(seed, workers, ordering) for _, seed, workers, ordering in runs] == [
            (SEED, 2, "recorded")] * 2
        workers = db.execute("SELECT DISTINCT worker FROM executions WHERE run_id = ?",
                             (runs[0][0],)).fetchall()
        assert sorted(w for (w,) in workers) == ["gw0", "gw1"]


def bad_copy(recorded: Recorded, tmp_path: Path) -> Path:
    folder = tmp_path / "bad-record"
    shutil.copytree(recorded.record, folder)
    return folder


def file_of(folder: Path, nodeid: str) -> Path:
    """The event file of the worker that ran the test (every worker lists every id)."""
    return next(p for p in folder.glob("gw*.jsonl") if f'"start", "id": "{nodeid}"'
                in p.read_text())


def cut_after(path: Path, marker: str, keep: int) -> None:
    """The file cut ``keep`` characters into the first line containing ``marker``."""
    text = path.read_text()
    at = text.index(marker)
    line_start = text.rindex("\n", 0, at) + 1
    path.write_text(text[:line_start + keep])


def damage(case: str, recorded: Recorded, tmp_path: Path) -> Path:
    folder = bad_copy(recorded, tmp_path)
    if case == "empty":
        shutil.rmtree(folder)
        folder.mkdir()
    elif case == "mixed":
        for path in recorded.other_run.glob("*.jsonl"):
            shutil.copy(path, folder / path.name)
    elif case == "cut":  # the upload (or the disk) cut the file inside the victim's finish
        cut_after(file_of(folder, LEDGER_VICTIM), f'"finish", "id": "{LEDGER_VICTIM}"', 30)
    elif case == "killed":  # the job was killed while the victim ran: no finish, no end
        path = file_of(folder, LEDGER_VICTIM)
        text = path.read_text()
        start = text.index(f'"start", "id": "{LEDGER_VICTIM}"')
        path.write_text(text[:text.index("\n", start) + 1])
        controller = next(folder.glob("main-*.jsonl"))
        controller.write_text("".join(line for line in controller.read_text()
                                      .splitlines(keepends=True) if '"end"' not in line))
    return folder


@pytest.mark.parametrize(("case", "victim", "says"), [
    ("empty", LEDGER_VICTIM, "no isoscan records (*.jsonl) in"),
    ("mixed", LEDGER_VICTIM, "mixes the records of 2 pytest runs"),
    ("cut", LEDGER_VICTIM, "is cut short (its last line is incomplete) while"),
    ("killed", LEDGER_VICTIM, "the record stops while"),
    ("copy", "tests/test_importer.py::test_importer_sets_flag",
     "passed in the run recorded in"),
    ("copy", "tests/test_ledger.py::test_not_there", "is not a test of the run recorded in"),
])
def test_a_record_that_cannot_be_used_is_one_line_and_writes_nothing(
        recorded: Recorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], case: str, victim: str, says: str) -> None:
    folder = damage(case, recorded, tmp_path)
    monkeypatch.chdir(recorded.checkout)
    store = tmp_path / "store"
    code, _ = bisect_from(folder, victim, store)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and says in err[0], err
    assert not store.exists()


def test_from_takes_no_other_starting_order(recorded: Recorded, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    code, _ = bisect_from(recorded.record, LEDGER_VICTIM, store, "--run", "1")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "leave out --run and --order-file" in err[0], err
    assert not store.exists()


def test_a_cut_loses_only_the_outcome_of_the_test_it_cuts(recorded: Recorded,
                                                          tmp_path: Path) -> None:
    """A file cut short inside a test's finish: the tests that finished before it keep their
    outcomes (the partial line is ignored); only that test's outcome is lost."""
    folder = bad_copy(recorded, tmp_path)
    path = file_of(folder, FLAG_VICTIM)
    cut_after(path, f'"finish", "id": "{FLAG_VICTIM}"', 20)
    run = read_recorded_run(folder)
    assert run.outcome_of(LEFTOVER) is Outcome.PASSED
    with pytest.raises(Exception, match="cut short"):
        run.outcome_of(FLAG_VICTIM)


def test_another_commit_or_tests_that_no_longer_collect(
        recorded: Recorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(recorded.checkout), str(clone))
    head = git(clone, "rev-parse", "HEAD")
    monkeypatch.chdir(clone)
    store = tmp_path / "store"
    # Same commit, but a test renamed in the working tree: caught once the suite is collected.
    importer = clone / "tests" / "test_importer.py"
    importer.write_text(importer.read_text().replace("def test_importer_waits_for_the_feed",
                                                     "def test_importer_waits_longer"))
    code, _ = bisect_from(recorded.record, LEDGER_VICTIM, store)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "1 of the 7 tests of the run recorded in" in err[0], err
    assert "test_importer_waits_for_the_feed" in err[0]
    with sqlite3.connect(store / "isoscan.db") as db:
        assert db.execute("SELECT COUNT(*) FROM runs WHERE purpose = 'recorded'").fetchone() == (0,)
    # Another commit: named before anything runs.
    git(clone, "commit", "-q", "-am", "renamed")
    shutil.rmtree(store)
    code, _ = bisect_from(recorded.record, LEDGER_VICTIM, store)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and f"was recorded at commit {head[:12]}, this checkout is at" in err[0]
    assert not store.exists()


CRASHER = """
import os


def test_before_the_crash():
    pass


def test_worker_dies():
    os._exit(3)


def test_after_the_crash():
    pass
"""
ORDERED = """
import state


def test_sets_flag():
    state.FLAGS["polluted"] = True


def test_reads_flag():
    assert "polluted" not in state.FLAGS
"""


def test_ini_option_records_an_xdist_run_through_a_worker_crash(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``isoscan_record`` in the ini and a plain ``pytest -n 2``: a worker that dies is
    replaced, and the record still has every test and one run. isoscan's own pytest runs in
    that suite leave the folder alone."""
    root = write(tmp_path / "suite", {"tests/test_crash.py": CRASHER,
                                      "tests/test_order.py": ORDERED})
    (root / "pytest.ini").write_text(LOADFILE.replace(
        "addopts = --dist loadfile", "addopts = --dist loadfile -p isoscan.plugin "
        "-p no:randomly\nisoscan_record = ci/record"))
    run = pytest_run(root / "tests", [sys.executable, "-m", "pytest", "-n", "2"])
    assert run.returncode == 1, run.stdout + run.stderr
    folder = root / "ci" / "record"  # relative to the ini file, not to where pytest started
    recorded = read_recorded_run(folder)
    assert recorded.workers == 2
    # gw0, gw1, and the workers that replaced the dead ones (xdist's loadfile gives the test
    # that killed its worker to the next one again, up to its restart limit).
    assert len(recorded.processes) >= 3
    assert recorded.outcome_of("tests/test_crash.py::test_before_the_crash") is Outcome.PASSED
    assert recorded.outcome_of("tests/test_crash.py::test_worker_dies") is Outcome.CRASHED
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    monkeypatch.chdir(root)
    code, out = bisect_from(folder, "tests/test_order.py::test_reads_flag", tmp_path / "store",
                            "--no-explain")
    assert code == 0
    assert read_json(out)["polluters"] == [["tests/test_order.py::test_sets_flag"]]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
