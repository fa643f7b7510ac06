"""What a bisect takes over from the session whose run it starts from: that session's
``--timeout`` (unless one is given), and what it learnt about hangs, so a test that hung there
is stopped at its early bound from the first trial on (``execution/timeouts.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from isoscan.bisect.starting_order import stored_start
from isoscan.execution.timeouts import DEFAULT_TIMEOUT, HangBook
from isoscan.model.rows import SessionRow
from isoscan.store.db import Store


@dataclass(frozen=True)
class Inherited:
    session: SessionRow | None  # the session of the run the bisect starts from
    timeout: float  # seconds; 0 means none


def inherited(store: Store, victim: str, run_id: int | None, given: float | None, *,
              from_store: bool = True) -> Inherited:
    """The session of ``--run ID``, else of the latest stored run the victim failed in (or,
    for a brittle test, passed in): where the bisect starts from. ``given``: ``--timeout``,
    which wins. Not ``from_store`` (an order file, a run recorded elsewhere): no session."""
    session = _starting_session(store, victim, run_id) if from_store else None
    if given is not None:
        return Inherited(session, given)
    if session is None:
        return Inherited(None, DEFAULT_TIMEOUT)
    return Inherited(session, session.timeout or 0.0)


def _starting_session(store: Store, victim: str, run_id: int | None) -> SessionRow | None:
    if run_id is not None:
        run = store.run(run_id)
    else:
        start = stored_start(store, victim, True) or stored_start(store, victim, False)
        run = store.run(start.run_id) if start is not None and start.run_id else None
    return store.session(run.session_id) if run is not None else None


def hangs_of(store: Store, session: SessionRow | None, timeout: float | None) -> HangBook:
    """A hang book for the bisect's timeout, holding what every run of ``session`` showed."""
    book = HangBook(timeout)
    if session is not None:
        for run in store.runs(session.id):
            book.learn(store.results(run.id).values())
    return book
