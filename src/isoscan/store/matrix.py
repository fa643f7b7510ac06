"""Building the pass/fail matrix (``model/matrix.py``) from a store's planned runs."""

from __future__ import annotations

from isoscan.model.matrix import Matrix
from isoscan.model.status import UNFINISHED, RunPurpose
from isoscan.store.db import Store


def load_matrix(store: Store, session_ids: list[int]) -> Matrix:
    runs = [
        run
        for sid in session_ids
        for run in store.runs(sid, RunPurpose.PLAN)
        if run.status not in UNFINISHED
    ]
    matrix = Matrix(runs=runs)
    seen: set[str] = set()
    for run in runs:
        for nodeid, result in store.results(run.id).items():
            if nodeid not in seen:
                seen.add(nodeid)
                matrix.tests.append(nodeid)
                matrix.cells[nodeid] = {}
            matrix.cells[nodeid][run.id] = result.outcome
    return matrix
