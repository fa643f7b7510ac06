"""The failing xdist run as recorded, around one victim: which tests ran beside it on other
workers (the suspects of a collision), which ran before it on its own worker, and when each
one's body began."""

from __future__ import annotations

from dataclasses import dataclass

from isoscan.model.rows import ExecutionRow
from isoscan.store.db import Store

WINDOW = 1.0  # seconds before the victim started in which another worker's tests are suspects


@dataclass(frozen=True)
class Timeline:
    """The failing xdist run as recorded: when the victim ran, on which worker, and every
    test the run's processes started."""

    victim: str
    run_id: int
    worker: str
    process: str
    started: float
    finished: float | None
    executions: list[ExecutionRow]
    body: float | None = None  # when the victim's body began (its broad fixtures set up)

    def workers(self) -> int:
        """The recorded run's xdist workers."""
        return len({e.worker for e in self.executions if e.worker.startswith("gw")})

    def merged_before(self) -> list[str]:
        """Every process's tests that started before the victim, by start time."""
        before = [e for e in self.executions
                  if e.started is not None and e.started < self.started
                  and not (e.nodeid == self.victim and e.process == self.process)]
        return [e.nodeid for e in sorted(before, key=start_of)]

    def beside(self, window: float = WINDOW) -> list[ExecutionRow]:
        """Other processes' tests that ran while the victim ran, or up to ``window`` seconds
        before it started: the suspects of a collision, by start time."""
        end = self.finished if self.finished is not None else float("inf")
        return sorted((e for e in self.executions
                       if e.process != self.process and e.started is not None
                       and e.started < end
                       and (e.finished if e.finished is not None else end)
                       > self.started - window), key=start_of)

    def own_before(self, window: float = WINDOW) -> list[ExecutionRow]:
        """The victim's own process's tests that started up to ``window`` seconds before it:
        they set up what the victim ran in (a module fixture, a connection), so its lane runs
        them first."""
        return sorted((e for e in self.executions
                       if e.process == self.process and e.started is not None
                       and self.started - window <= e.started < self.started), key=start_of)

    def worker_of(self, nodeid: str) -> str:
        return next((e.worker for e in self.executions if e.nodeid == nodeid), "?")


def start_of(execution: ExecutionRow) -> float:
    return execution.started if execution.started is not None else 0.0


def body_of(execution: ExecutionRow) -> float:
    """When the test's body began: its broad fixtures set up. A run recorded before isoscan
    kept that moment has only the start."""
    return execution.body if execution.body is not None else start_of(execution)


def timeline(store: Store, run_id: int | None, victim: str) -> Timeline | None:
    if run_id is None:
        return None
    executions = store.executions(run_id)
    mine = [e for e in executions if e.nodeid == victim and e.started is not None]
    if not mine:
        return None
    me = mine[-1]
    assert me.started is not None
    return Timeline(victim, run_id, me.worker, me.process, me.started, me.finished, executions,
                    me.body)
