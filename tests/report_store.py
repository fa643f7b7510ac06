"""Stores written through the Store API, as `isoscan seeds` leaves them, without running pytest:
for the report, gate and history tests that need exact, known contents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from isoscan.execution.argv import Ordering
from isoscan.execution.junit import CaseResult
from isoscan.execution.runner import RunResult
from isoscan.model.outcomes import Outcome
from isoscan.store.db import Store

SYMBOLS = {".": Outcome.PASSED, "F": Outcome.FAILED, "E": Outcome.ERROR, "s": Outcome.SKIPPED,
           "-": Outcome.NOT_RUN}


def add_session(root: Path, rows: dict[str, str], verdicts: dict[str, tuple[str, dict[str, Any]]]
                | None = None, git_head: str | None = None, purpose: str = "plan",
                status: str = "done") -> tuple[int, list[int]]:
    """One session; ``rows`` maps each test to one symbol per run (``F.F.``)."""
    store = Store(root)
    try:
        sid = store.begin_session("seeds", root, ["tests"], [], None, git_head)
        width = len(next(iter(rows.values())))
        ids = []
        for column in range(width):
            seed = 100 + column
            run_id, _ = store.start_run(sid, purpose, "random", seed, 0)
            results = {t: CaseResult(t, SYMBOLS[row[column]], 0.01, "")
                       for t, row in rows.items() if row[column] != "-"}
            store.finish_run(run_id, RunResult(Ordering("random", seed), 0, results=results,
                                               status="ok", exit_code=0, seconds=0.1))
            ids.append(run_id)
        if verdicts:
            store.save_verdicts(sid, verdicts)
        store.end_session(sid, status)
        return sid, ids
    finally:
        store.close()
