"""Where a bisect starts: the order in which the victim failed (or, for a brittle test, passed).

From a stored run (the victim's own process's or worker's order up to it), an order file, an
order handed over by ``seeds --bisect``, or a cold start over the collected suite.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from isoscan.errors import UsageError
from isoscan.execution.collect import require_collected
from isoscan.execution.records import read_order_file
from isoscan.model.confidence import Confirmation
from isoscan.model.outcomes import Outcome
from isoscan.model.rows import RunRow
from isoscan.model.status import OrderingKind
from isoscan.store.db import Store


@dataclass(frozen=True)
class StartingOrder:
    prefix: list[str]
    seed: int | None
    source: str
    workers: int = 0
    run_id: int | None = None
    observed: bool = False  # the victim was already seen to misbehave in exactly this order
    confirmed: bool = False  # ...and replays already showed it reproduces
    # Tests of the run's order that crashed or hung there, left out of ``prefix``.
    left_out: tuple[str, ...] = ()


def explicit_start(store: Store, victim: str, *, failed: bool, given: StartingOrder | None = None,
                   order_file: Path | None = None, run_id: int | None = None,
                   collected: list[str] | None = None) -> StartingOrder | None:
    """The order to start from, in this preference: one handed over (``seeds --bisect``), an
    order file, a stored run by id, the latest stored run where the victim failed (or, with
    ``failed=False``, passed). None when there is nothing to start from."""
    if given is not None:
        return given
    if order_file is not None:
        ids = read_order_file(order_file)
        if collected is not None:
            for nodeid in ids:
                require_collected(nodeid, collected, f"in {order_file}: ")
        prefix = ids[: ids.index(victim)] if victim in ids else ids
        return StartingOrder(prefix, None, f"order file {order_file}")
    if run_id is not None:
        run = store.run(run_id)
        if run is None:
            raise UsageError(f"no run #{run_id} in the store {store.root}")
        start = start_in_run(store, run, victim, failed)
        if start is None:
            raise UsageError(f"{victim} did not run in run #{run_id}")
        return start
    return stored_start(store, victim, failed)


def start_in_run(store: Store, run: RunRow, victim: str, failed: bool
                 ) -> StartingOrder | None:
    """What the victim's own process (or xdist worker) ran before it in a stored run."""
    found = store.process_order_before(run.id, victim)
    if found is None:
        return None
    prefix, process = found
    outcome = store.results(run.id).get(victim)
    order = f"seed {run.seed}" if run.seed is not None else run.ordering
    if run.ordering == OrderingKind.PLANNED:  # a planned order under a seed context
        order = f"planned order, seed {run.seed}"
    return StartingOrder(prefix, run.seed, f"run #{run.id} ({order}, -n {run.workers}), "
                         f"process {process}", run.workers, run.id,
                         observed=outcome is not None and outcome.outcome.is_failure == failed,
                         confirmed=confirmed_by_seeds(store, run, victim, failed))


def confirmed_by_seeds(store: Store, run: RunRow, victim: str, failed: bool) -> bool:
    """Whether the session of ``run`` gave the victim its order verdict by replaying exactly
    this run's order, and the stated rule confirmed it (``model/confidence.py``): the order
    then reproduces, and bisect spends no trial checking it again."""
    stored = store.verdicts(run.session_id).get(victim)
    if stored is None:
        return False
    verdict, evidence = stored
    wanted, key = (("order-dependent", "failing_order") if failed
                   else ("brittle", "passing_order"))
    replay = evidence.get(key)
    check = Confirmation.from_json(evidence.get("confirmation"))
    return (verdict == wanted and isinstance(replay, dict) and replay.get("run_id") == run.id
            and check is not None and check.met)


def faults_left_out(store: Store, starts: list[StartingOrder], victim: str
                    ) -> list[StartingOrder]:
    """Each order from a stored run, preceded by the same order without the tests that
    crashed or timed out in that run: replaying those would pay their crash or their hang
    again in every trial, and the victim ran after them only by chance. The order as it ran
    stays next, for a victim that passes without them."""
    expanded: list[StartingOrder] = []
    for start in starts:
        results = store.results(start.run_id) if start.run_id is not None else {}
        faulted = [t for t in start.prefix if t != victim and t in results
                   and (results[t].outcome.is_hang or results[t].outcome is Outcome.CRASHED)]
        if faulted:
            kept = [t for t in start.prefix if t not in set(faulted)]
            shown = ", ".join(faulted[:2]) + (" …" if len(faulted) > 2 else "")
            expanded.append(replace(
                start, prefix=kept, observed=False, confirmed=False, left_out=tuple(faulted),
                source=f"{start.source}, without {len(faulted)} test(s) that crashed or hung "
                       f"there ({shown})"))
        expanded.append(start)
    return expanded


def stored_start(store: Store, victim: str, failed: bool) -> StartingOrder | None:
    """The latest stored run where the victim failed (or, for a brittle test, passed);
    serial runs first, because their order replays exactly. Among the serial runs of the
    newest session, first the one whose order that session's verdict replayed by the rule:
    it reproduces without a trial, and `seeds` chose it as the cheapest to replay."""
    runs = store.runs_with_outcome(victim, failed)
    newest = max((r.session_id for r in runs), default=None)
    runs.sort(key=lambda r: (r.workers > 0, not (r.session_id == newest and confirmed_by_seeds(
        store, r, victim, failed)), -r.id))
    for run in runs:
        start = start_in_run(store, run, victim, failed)
        if start is not None:
            return start
    return None


def failed_under_xdist(store: Store, victim: str, run_ids: list[int]) -> StartingOrder | None:
    """The latest of these runs in which the victim failed on an xdist worker: where a
    parallel-only victim's search for a test on another worker starts."""
    for run_id in sorted(run_ids, reverse=True):
        run = store.run(run_id)
        if run is None or run.workers == 0:
            continue
        start = start_in_run(store, run, victim, failed=True)
        if start is not None and start.observed:
            return start
    return None


def other_xdist_failures(store: Store, victim: str, start: StartingOrder
                         ) -> list[StartingOrder]:
    """The other runs of ``start``'s session in which the victim failed on an xdist worker,
    newest first."""
    run = store.run(start.run_id) if start.run_id is not None else None
    if run is None:
        return []
    found = []
    for other in store.runs_with_outcome(victim, failed=True):
        if other.id == run.id or other.session_id != run.session_id or other.workers == 0:
            continue
        again = start_in_run(store, other, victim, failed=True)
        if again is not None and again.observed:
            found.append(again)
    return found


def cold_starts(collected: list[str], victim: str) -> list[StartingOrder]:
    others = [t for t in collected if t != victim]
    return [StartingOrder(others, None, "cold start: the whole collected suite before it"),
            StartingOrder(others[::-1], None, "cold start: the reversed suite before it")]
