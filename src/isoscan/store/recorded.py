"""A run recorded elsewhere (``execution/recorded_run.py``), imported as a stored run: its
outcomes and every process's order with start and finish times, its seed and worker count.
Everything that starts from a stored run then starts from it unchanged: ``bisect``'s starting
order (as with ``--run ID``) and the parallel-only search, which reads ``Store.executions``."""

from __future__ import annotations

import shutil

from isoscan.execution.argv import Suite
from isoscan.execution.recorded_run import RecordedRun
from isoscan.model.status import Command, OrderingKind, RunPurpose
from isoscan.store.db import Store


def import_recorded(store: Store, recorded: RecordedRun, suite: Suite) -> int:
    """Stores the run in a session of its own, with the commit it ran on; returns its id. The
    run's folder keeps a copy of the record files (and of JUnit XML beside them), so the
    stored run outlives the folder it came from."""
    with store.recording_session(Command.IMPORT, suite, recorded.git_head) as session, \
            store.recording_run(session.id, RunPurpose.RECORDED, OrderingKind.RECORDED,
                                recorded.seed, recorded.workers) as run:
        copies = run.dir / "seg0" / "records"
        copies.mkdir(parents=True, exist_ok=True)
        for path in [*recorded.files, *sorted(recorded.directory.glob("*.xml"))]:
            shutil.copy2(path, copies / path.name)
        run.finish(recorded.run_result(run.dir / "seg0" / "output.log"))
        return run.id
