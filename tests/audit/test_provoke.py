"""Provoke and prove (isoscan/audit/provoke.py) on real fork trials: a victim two culprits
collide with is run alone four times in all, not four times per pair, and both collisions are
confirmed by the full rule; a pair whose tests never fail side by side is "shared, not seen
to collide"; a race that turns after the screening is proven the other way, on that test's
own replays."""

from __future__ import annotations

from pathlib import Path

import pytest
from suitegen import write

from isoscan.audit.model import Candidate, PairStatus
from isoscan.audit.provoke import Prover, timings
from isoscan.execution.argv import Suite
from isoscan.model.confidence import Rule
from isoscan.model.status import Command, RunPurpose
from isoscan.resources import Access, Resource, ResourceKind, Shared
from isoscan.store.db import Store
from isoscan.trials.factory import make_trials

# The collisions here need the two tests' windows to overlap: run alone (make test).
pytestmark = pytest.mark.timing

VICTIM = "test_listing.py::test_listing_sees_only_its_file"
CULPRITS = ("test_export.py::test_export_writes_a_file",
            "test_import.py::test_import_writes_a_file")
QUIET = "test_quiet.py::test_reads_settings"
WRITER = """
import os, time
def test_{name}_writes_a_file():
    path = os.path.join({folder!r}, "{name}.tmp")
    open(path, "w").close()
    time.sleep(0.4)
    os.remove(path)
"""


def test_a_victim_runs_alone_once_for_all_its_culprits(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    folder.mkdir()
    root = write(tmp_path / "suite", {
        "test_listing.py": f"""
            import os, time
            def test_listing_sees_only_its_file():
                mine = os.path.join({str(folder)!r}, "listing.tmp")
                open(mine, "w").close()
                time.sleep(0.15)
                try:
                    assert os.listdir({str(folder)!r}) == ["listing.tmp"]
                finally:
                    os.remove(mine)
        """,
        "test_export.py": WRITER.format(name="export", folder=str(folder)),
        "test_import.py": WRITER.format(name="import", folder=str(folder)),
        "test_quiet.py": "def test_reads_settings():\n    assert True\n",
    })
    spool = str(folder)
    touched = {VICTIM: [Resource(ResourceKind.FILE, spool, Access.READ)],
               **{c: [Resource(ResourceKind.FILE, spool, Access.WRITE)] for c in CULPRITS},
               QUIET: [Resource(ResourceKind.FILE, spool, Access.READ)]}
    share = Shared(ResourceKind.FILE, spool, "", Access.WRITE, Access.READ)
    candidates = [Candidate(VICTIM, c, [share], 1.0) for c in CULPRITS]
    candidates.append(Candidate(QUIET, CULPRITS[0], [share], 0.5))
    suite = Suite(paths=(".",), pytest_args=(), cwd=root, timeout=30)
    store = Store(tmp_path / "store")
    steps: list[str] = []
    with store.recording_session(Command.AUDIT, suite, None) as session:
        trials = make_trials(suite, store, session.id, RunPurpose.AUDIT, True)
        try:
            prover = Prover(trials, suite, tmp_path / "store", touched,
                            dict.fromkeys(touched, 0.4), lambda _: True, Rule(), steps.append,
                            workers=8)
            prover.prove_all(candidates)
        finally:
            trials.close()
    store.close()

    assert [c.status for c in candidates] == [PairStatus.COLLIDES, PairStatus.COLLIDES,
                                             PairStatus.SHARED]
    assert [(r.victim, r.polluters) for r in prover.results] == [
        (VICTIM, [[CULPRITS[0]]]), (VICTIM, [[CULPRITS[1]]])]
    # The rule at 0.99 with every result agreeing: four beside, four alone, for each pair;
    # the four runs alone are the victim's, counted by both.
    assert prover.alone[VICTIM] == [True] * 4
    for result in prover.results:
        assert result.parallel is not None and result.parallel.confirmation is not None
        assert result.parallel.confirmation.behaved == 4
        assert result.parallel.confirmation.misbehaved >= 4
    assert len(steps) == 3


FIRST = "test_first.py::test_first"
SECOND = "test_second.py::test_second"


def test_the_other_test_failing_in_the_replays_is_verified_on_replays_of_its_own(
        tmp_path: Path) -> None:
    # A race that turns after the screening: the first fails beside the second only the first
    # time (it leaves a marker), the second fails beside the first once the marker is there.
    folder = tmp_path / "spool"
    folder.mkdir()
    spool = str(folder)
    root = write(tmp_path / "suite", {
        "test_first.py": f"""
            import os, time
            def test_first():
                mine = os.path.join({spool!r}, "first.running")
                open(mine, "w").close()
                try:
                    time.sleep(0.2)
                    if os.path.exists(os.path.join({spool!r}, "second.running")) and \\
                            not os.path.exists(os.path.join({spool!r}, "marker")):
                        open(os.path.join({spool!r}, "marker"), "w").close()
                        raise AssertionError("the second is running")
                    time.sleep(0.25)
                finally:
                    os.remove(mine)
        """,
        "test_second.py": f"""
            import os, time
            def test_second():
                had = os.path.exists(os.path.join({spool!r}, "marker"))
                mine = os.path.join({spool!r}, "second.running")
                open(mine, "w").close()
                try:
                    time.sleep(0.35)
                    running = os.path.exists(os.path.join({spool!r}, "first.running"))
                    assert not (had and running), "the first is running"
                finally:
                    os.remove(mine)
        """,
    })
    touched = {t: [Resource(ResourceKind.FILE, spool, Access.WRITE)] for t in (FIRST, SECOND)}
    share = Shared(ResourceKind.FILE, spool, "", Access.WRITE, Access.WRITE)
    candidate = Candidate(FIRST, SECOND, [share], 1.0)
    suite = Suite(paths=(".",), pytest_args=(), cwd=root, timeout=30)
    store = Store(tmp_path / "store")
    with store.recording_session(Command.AUDIT, suite, None) as session:
        trials = make_trials(suite, store, session.id, RunPurpose.AUDIT, True)
        try:
            prover = Prover(trials, suite, tmp_path / "store", touched,
                            {FIRST: 0.45, SECOND: 0.35}, lambda _: True, Rule(),
                            lambda _: None, workers=2)
            prover.prove_all([candidate])
        finally:
            trials.close()
    store.close()

    assert candidate.status is PairStatus.COLLIDES
    assert [(r.victim, r.polluters) for r in prover.results] == [(SECOND, [[FIRST]])]
    # Its own replays only: none of the first's (in which it failed too) is counted.
    confirmation = prover.results[0].parallel.confirmation  # type: ignore[union-attr]
    assert confirmation is not None
    assert (confirmation.misbehaved, confirmation.noise, confirmation.behaved) == (4, 0, 4)
    assert prover.alone[FIRST] and all(prover.alone[FIRST])


def test_the_screening_starts_at_the_offset_least_likely_to_race() -> None:
    """A 0.03 s writer beside a 0.45 s reader: first started centred in it (its write lands
    0.21 s inside the reader's window), then together, then the reader halfway through the
    writer. Tests of like length: each halfway through the other first, together last."""
    short_second = timings(0.45, 0.03, leaves=False)
    assert [(t.first_at, round(t.second_at, 3)) for t in short_second] == \
        [(0.0, 0.21), (0.0, 0.0), (0.015, 0.0)]
    assert short_second[0].label == "the second started centred in the first"
    short_first = timings(0.03, 0.45, leaves=True)
    assert (round(short_first[0].first_at, 3), short_first[0].second_at) == (0.21, 0.0)
    assert len(short_first) == 5
    alike = timings(0.3, 0.4, leaves=False)
    assert [(t.first_at, t.second_at) for t in alike] == [(0.0, 0.15), (0.2, 0.0), (0.0, 0.0)]
