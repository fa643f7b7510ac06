"""The store: an SQLite database of sessions, runs, outcomes and recorded orders, beside the
run folders that hold each run's JUnit XML, event files and pytest output.

Each run is written in one transaction when it completes, so an interrupted session keeps
every run it finished.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isoscan.execution.argv import Suite
from isoscan.execution.interrupts import interrupts_deferred
from isoscan.execution.junit import CaseResult
from isoscan.execution.records import parse_outcome
from isoscan.execution.runner import RunResult
from isoscan.model.outcomes import FAILURES, Outcome
from isoscan.model.rows import ExecutionRow, RunRow, SessionRow
from isoscan.model.status import Command, OrderingKind, RunPurpose, RunStatus, SessionStatus
from isoscan.model.verdicts import Verdict

SCHEMA_VERSION = 1
DB_NAME = "isoscan.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(
    id INTEGER PRIMARY KEY, command TEXT NOT NULL, cwd TEXT NOT NULL, paths TEXT NOT NULL,
    pytest_args TEXT NOT NULL, timeout REAL, started REAL NOT NULL, finished REAL,
    git_head TEXT, status TEXT NOT NULL DEFAULT 'running');
CREATE TABLE IF NOT EXISTS runs(
    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id),
    purpose TEXT NOT NULL, ordering TEXT NOT NULL, seed INTEGER, workers INTEGER NOT NULL,
    status TEXT NOT NULL, exit_code INTEGER, seconds REAL, started REAL NOT NULL,
    dir TEXT NOT NULL, argv TEXT);
CREATE TABLE IF NOT EXISTS results(
    run_id INTEGER NOT NULL REFERENCES runs(id), nodeid TEXT NOT NULL, outcome TEXT NOT NULL,
    duration REAL, message TEXT, PRIMARY KEY(run_id, nodeid));
CREATE TABLE IF NOT EXISTS executions(
    run_id INTEGER NOT NULL REFERENCES runs(id), process TEXT NOT NULL, worker TEXT NOT NULL,
    segment INTEGER NOT NULL, seq INTEGER NOT NULL, nodeid TEXT NOT NULL, started REAL,
    finished REAL, outcome TEXT);
CREATE INDEX IF NOT EXISTS executions_run ON executions(run_id, process, seq);
CREATE TABLE IF NOT EXISTS verdicts(
    session_id INTEGER NOT NULL REFERENCES sessions(id), nodeid TEXT NOT NULL,
    verdict TEXT NOT NULL, evidence TEXT NOT NULL, PRIMARY KEY(session_id, nodeid));
"""


@dataclass
class RecordingSession:
    """The session of a ``Store.recording_session`` block; set ``status`` to how it ended."""

    id: int
    status: SessionStatus = SessionStatus.DONE


@dataclass(frozen=True)
class RecordingRun:
    """The run of a ``Store.recording_run`` block: its id, its own folder, and ``finish``."""

    store: Store
    id: int
    dir: Path

    def finish(self, result: RunResult) -> None:
        self.store.finish_run(self.id, result)


class Store:
    def __init__(self, root: Path) -> None:
        # Absolute: paths handed to pytest must not depend on a cwd its conftest may change.
        self.root = root.resolve()
        root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(root / DB_NAME, timeout=30)
        self.db.execute("PRAGMA foreign_keys = ON")
        with self.db:  # the file's first write: it never exists without its tables
            self.db.executescript(_SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)",
                            (str(SCHEMA_VERSION),))
        # A write-ahead log: a committed run survives isoscan or its suite crashing, and a
        # commit costs no fsync of a rollback journal (5 ms a run before; bisect and isolate
        # store a run per trial). Only a power cut can lose the last commits.
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

    # sessions ---------------------------------------------------------------------------
    def begin_session(self, command: Command, cwd: Path, paths: list[str], pytest_args: list[str],
                      timeout: float | None, git_head: str | None) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO sessions(command, cwd, paths, pytest_args, timeout, started, git_head)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (command, str(cwd), json.dumps(paths), json.dumps(pytest_args), timeout,
                 time.time(), git_head),
            )
            return int(cur.lastrowid or 0)

    def begin_suite_session(self, command: Command, suite: Suite, git_head: str | None = None
                            ) -> int:
        return self.begin_session(command, suite.cwd, list(suite.paths), list(suite.pytest_args),
                                  suite.timeout, git_head)

    def end_session(self, session_id: int, status: SessionStatus) -> None:
        with self._tx() as db:
            db.execute("UPDATE sessions SET finished = ?, status = ? WHERE id = ?",
                       (time.time(), status, session_id))

    @contextmanager
    def recording_session(self, command: Command, suite: Suite, git_head: str | None = None
                          ) -> Iterator[RecordingSession]:
        """A session from its start to its end: ended with the block's ``status`` (done unless
        set), ``interrupted`` when Ctrl-C leaves the block, ``failed`` when an error does."""
        session = RecordingSession(self.begin_suite_session(command, suite, git_head))
        try:
            yield session
        except KeyboardInterrupt:
            self.end_session(session.id, SessionStatus.INTERRUPTED)
            raise
        except BaseException:
            self.end_session(session.id, SessionStatus.FAILED)
            raise
        self.end_session(session.id, session.status)

    def session(self, session_id: int) -> SessionRow | None:
        row = self.db.execute(
            "SELECT id, command, cwd, paths, pytest_args, timeout, started, status, git_head"
            " FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            return None
        return SessionRow(row[0], Command(row[1]), row[2], json.loads(row[3]),
                          json.loads(row[4]), row[5], row[6], SessionStatus(row[7]), row[8])

    def latest_seeds_session(self) -> SessionRow | None:
        """The newest ``seeds`` session that finished (done, or interrupted with its runs kept)."""
        row = self.db.execute(
            "SELECT id FROM sessions WHERE command = ? AND status IN (?, ?)"
            " ORDER BY id DESC LIMIT 1",
            (Command.SEEDS, SessionStatus.DONE, SessionStatus.INTERRUPTED)).fetchone()
        return self.session(int(row[0])) if row else None

    def session_seconds(self, session: SessionRow) -> float:
        """How long the session ran (until now's last write, for one that never finished)."""
        row = self.db.execute("SELECT finished FROM sessions WHERE id = ?",
                              (session.id,)).fetchone()
        finished = row[0] if row and row[0] is not None else session.started
        return max(0.0, float(finished) - session.started)

    def latest_session(self, command: Command | None = None) -> SessionRow | None:
        query = "SELECT id FROM sessions"
        args: tuple[str, ...] = ()
        if command is not None:
            query += " WHERE command = ?"
            args = (command,)
        row = self.db.execute(query + " ORDER BY id DESC LIMIT 1", args).fetchone()
        return self.session(int(row[0])) if row else None

    # runs -------------------------------------------------------------------------------
    def start_run(self, session_id: int, purpose: RunPurpose, ordering: OrderingKind,
                  seed: int | None, workers: int) -> tuple[int, Path]:
        """Register a run about to start; returns its id and its own folder."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO runs(session_id, purpose, ordering, seed, workers, status, started,"
                " dir) VALUES (?, ?, ?, ?, ?, ?, ?, '')",
                (session_id, purpose, ordering, seed, workers, RunStatus.RUNNING, time.time()),
            )
            run_id = int(cur.lastrowid or 0)
            run_dir = self.root / "runs" / str(run_id)
            db.execute("UPDATE runs SET dir = ? WHERE id = ?", (str(run_dir), run_id))
        run_dir.mkdir(parents=True, exist_ok=True)
        return run_id, run_dir

    def abort_run(self, run_id: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE runs SET status = ? WHERE id = ? AND status = ?",
                       (RunStatus.INTERRUPTED, run_id, RunStatus.RUNNING))

    @contextmanager
    def recording_run(self, session_id: int, purpose: RunPurpose, ordering: OrderingKind,
                      seed: int | None = None, workers: int = 0) -> Iterator[RecordingRun]:
        """A run from its start until the block calls ``finish`` with its result; one that an
        error or Ctrl-C leaves unfinished is marked ``interrupted``, a finished one is kept."""
        run_id: int | None = None
        try:
            # A Ctrl-C between the row's commit and its folder must still end in ``except``.
            with interrupts_deferred():
                run_id, run_dir = self.start_run(session_id, purpose, ordering, seed, workers)
            yield RecordingRun(self, run_id, run_dir)
        except BaseException:
            if run_id is not None:
                self.abort_run(run_id)
            raise

    def finish_run(self, run_id: int, result: RunResult) -> None:
        """Write a completed run's outcomes and recorded orders in one transaction."""
        argv = result.segments[0].argv if result.segments else []
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status = ?, exit_code = ?, seconds = ?, argv = ? WHERE id = ?",
                (result.status, result.exit_code, result.seconds, json.dumps(argv), run_id),
            )
            db.executemany(
                "INSERT OR REPLACE INTO results(run_id, nodeid, outcome, duration, message)"
                " VALUES (?, ?, ?, ?, ?)",
                [(run_id, r.nodeid, r.outcome.value, r.duration, r.message)
                 for r in result.results.values()],
            )
            rows = []
            for segment in result.segments:
                for process in segment.processes:
                    for seq, ex in enumerate(process.executions):
                        rows.append((run_id, process.name, process.worker, segment.index, seq,
                                     ex.nodeid, ex.started, ex.finished, ex.outcome))
            db.executemany(
                "INSERT INTO executions(run_id, process, worker, segment, seq, nodeid, started,"
                " finished, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def runs(self, session_id: int, purpose: RunPurpose | None = None) -> list[RunRow]:
        query = ("SELECT id, session_id, purpose, ordering, seed, workers, status, exit_code,"
                 " seconds, dir FROM runs WHERE session_id = ?")
        args: tuple[object, ...] = (session_id,)
        if purpose is not None:
            query += " AND purpose = ?"
            args += (purpose,)
        return [_run_row(r) for r in self.db.execute(query + " ORDER BY id", args)]

    def run(self, run_id: int) -> RunRow | None:
        row = self.db.execute(
            "SELECT id, session_id, purpose, ordering, seed, workers, status, exit_code, seconds,"
            " dir FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        return _run_row(row)

    def runs_with_outcome(self, nodeid: str, failed: bool) -> list[RunRow]:
        """Completed plan runs (any session) where the test failed, or passed; newest first."""
        outcomes = tuple(sorted(FAILURES)) if failed else (Outcome.PASSED,)
        marks = ", ".join("?" for _ in outcomes)
        ids = [r[0] for r in self.db.execute(
            f"SELECT runs.id FROM runs JOIN results ON results.run_id = runs.id"
            f" WHERE results.nodeid = ? AND results.outcome IN ({marks})"
            f" AND runs.purpose = ? ORDER BY runs.id DESC",
            (nodeid, *outcomes, RunPurpose.PLAN))]
        return [run for run in (self.run(i) for i in ids) if run is not None]

    def results(self, run_id: int) -> dict[str, CaseResult]:
        return {
            r[0]: CaseResult(r[0], Outcome(r[1]), r[2] or 0.0, r[3] or "")
            for r in self.db.execute(
                "SELECT nodeid, outcome, duration, message FROM results WHERE run_id = ?",
                (run_id,))
        }

    def executions(self, run_id: int) -> list[ExecutionRow]:
        return [
            ExecutionRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                         parse_outcome(r[7]) if r[7] is not None else None)
            for r in self.db.execute(
                "SELECT process, worker, segment, seq, nodeid, started, finished, outcome"
                " FROM executions WHERE run_id = ? ORDER BY segment, process, seq", (run_id,))
        ]

    def process_order_before(self, run_id: int, nodeid: str) -> tuple[list[str], str] | None:
        """The tests the victim's own process ran before it in this run, and that process."""
        found = self.db.execute(
            "SELECT process, seq FROM executions WHERE run_id = ? AND nodeid = ?"
            " ORDER BY segment DESC LIMIT 1", (run_id, nodeid)).fetchone()
        if found is None:
            return None
        process, seq = found
        prefix = [r[0] for r in self.db.execute(
            "SELECT nodeid FROM executions WHERE run_id = ? AND process = ? AND seq < ?"
            " ORDER BY seq", (run_id, process, seq))]
        return prefix, str(process)

    def concurrent(self, run_id: int | None, nodeid: str) -> list[str]:
        """Tests other processes (xdist workers) were running while this one ran, by the
        recorded start and finish times."""
        if run_id is None:
            return []
        executions = self.executions(run_id)
        mine = [e for e in executions if e.nodeid == nodeid and e.started is not None]
        if not mine:
            return []
        me = mine[-1]
        begin = me.started or 0.0
        end = me.finished if me.finished is not None else float("inf")
        return [e.nodeid for e in executions
                if e.process != me.process and e.started is not None and e.started < end
                and (e.finished if e.finished is not None else float("inf")) > begin]

    # verdicts ---------------------------------------------------------------------------
    def save_verdicts(self, session_id: int, verdicts: dict[str, tuple[str, dict[str, object]]]
                      ) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO verdicts(session_id, nodeid, verdict, evidence)"
                " VALUES (?, ?, ?, ?)",
                [(session_id, n, v, json.dumps(e)) for n, (v, e) in verdicts.items()],
            )

    def latest_verdict(self, nodeid: str) -> tuple[Verdict, int] | None:
        """The newest verdict any session gave this test, and that session's id."""
        row = self.db.execute("SELECT verdict, session_id FROM verdicts WHERE nodeid = ?"
                              " ORDER BY session_id DESC LIMIT 1", (nodeid,)).fetchone()
        return (Verdict(row[0]), int(row[1])) if row else None

    def verdicts(self, session_id: int) -> dict[str, tuple[str, dict[str, object]]]:
        return {
            r[0]: (r[1], json.loads(r[2]))
            for r in self.db.execute(
                "SELECT nodeid, verdict, evidence FROM verdicts WHERE session_id = ?",
                (session_id,))
        }


def _run_row(row: tuple[Any, ...]) -> RunRow:
    return RunRow(row[0], row[1], RunPurpose(row[2]), row[3], row[4], row[5], RunStatus(row[6]),
                  row[7], row[8], Path(row[9]))
