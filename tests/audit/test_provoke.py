"""Provoke and prove (isoscan/audit/provoke.py) on real fork trials: a victim two culprits
collide with is run alone four times in all, not four times per pair, and both collisions are
confirmed by the full rule; a pair whose tests never fail side by side is "shared, not seen
to collide"."""

from __future__ import annotations

from pathlib import Path

import pytest
from suitegen import write

from isoscan.audit.model import Candidate, PairStatus
from isoscan.audit.provoke import Prover
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
