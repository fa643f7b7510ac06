"""Per-test failure rates across every plan run a store has kept, oldest session first.

Only plan runs count (the suite's normal orders); confirmation and bisect trials are built to
make a test fail, so they would only inflate its rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from isoscan.model.outcomes import Outcome
from isoscan.model.status import UNFINISHED, Command, RunPurpose, SessionStatus
from isoscan.store.db import Store


@dataclass
class SessionInfo:
    id: int
    command: Command
    started: float
    status: SessionStatus
    git_head: str | None
    runs: list[int] = field(default_factory=list)  # plan run ids, in order


@dataclass
class TestHistory:
    nodeid: str
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # run id → outcome

    def counts(self, runs: list[int]) -> tuple[int, int]:
        """(failed, ran) over these runs; skipped and not-run do not count as ran."""
        seen = [self.outcomes[r] for r in runs if r in self.outcomes]
        ran = [o for o in seen if o.ran and o is not Outcome.SKIPPED]
        return sum(1 for o in ran if o.is_failure), len(ran)


@dataclass
class History:
    sessions: list[SessionInfo]
    tests: dict[str, TestHistory]

    @property
    def runs(self) -> list[int]:
        return [r for s in self.sessions for r in s.runs]

    def rate(self, nodeid: str) -> tuple[int, int]:
        return self.tests[nodeid].counts(self.runs)


def load_history(store: Store, nodeid: str | None = None) -> History:
    sessions: dict[int, SessionInfo] = {}
    for sid, command, started, status, head, run_id in store.db.execute(
        "SELECT s.id, s.command, s.started, s.status, s.git_head, r.id FROM sessions s"
        " JOIN runs r ON r.session_id = s.id WHERE r.purpose = ?"
        " AND r.status NOT IN (?, ?) ORDER BY s.id, r.id", (RunPurpose.PLAN, *UNFINISHED)
    ):
        info = sessions.setdefault(sid, SessionInfo(sid, Command(command), started,
                                                   SessionStatus(status), head))
        info.runs.append(run_id)
    query = ("SELECT res.run_id, res.nodeid, res.outcome FROM results res JOIN runs r"
             " ON r.id = res.run_id WHERE r.purpose = ?")
    args: tuple[str, ...] = (RunPurpose.PLAN,)
    if nodeid is not None:
        query += " AND res.nodeid = ?"
        args += (nodeid,)
    tests: dict[str, TestHistory] = {}
    for run_id, test, outcome in store.db.execute(query + " ORDER BY res.run_id", args):
        tests.setdefault(test, TestHistory(test)).outcomes[run_id] = Outcome(outcome)
    return History(list(sessions.values()), tests)


def all_nodeids(store: Store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT DISTINCT nodeid FROM results ORDER BY nodeid")]
