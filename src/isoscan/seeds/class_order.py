"""Classes whose tests depend on their own method order (unittest-style classes where
``test_03`` uses what ``test_01`` made), and orders that keep each class's methods in order.

A shuffled order breaks every such class, and each of its tests would be reported as brittle
or order-dependent on its own, drowning the findings that matter. A class is recognised when
every failure of its tests came in a run where its methods ran out of their collected order,
they passed in every run where its methods ran in that order, and the evidence of each
finding points inside the class (the order a brittle test passed in, or an order-dependent
test failed in, had one of the class's own methods before it). It is said once; with
``--keep-class-order`` every planned and random order keeps each class's methods in their
collected order (``isoscan.plugin``'s ``ClassOrder`` for orders pytest makes) while modules,
classes and functions are shuffled as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from isoscan.model.matrix import Matrix
from isoscan.model.outcomes import Outcome
from isoscan.model.status import OrderingKind
from isoscan.model.verdicts import ClassOrderDependence, Finding, Verdict
from isoscan.store.db import Store

# The pytest option isoscan adds to every run of a session with --keep-class-order.
KEEP_CLASS_ORDER = "--isoscan-keep-class-order"
_JUDGED = (Verdict.BRITTLE, Verdict.ORDER_DEPENDENT)


def class_of(nodeid: str) -> str | None:
    """``path::Class`` of a method's id (``path::Class::test[params]``); None for a function."""
    base = nodeid.split("[", 1)[0]
    parts = base.split("::")
    return "::".join(parts[:-1]) if len(parts) >= 3 else None


def keep_class_order(order: Sequence[str], collected: Sequence[str]) -> list[str]:
    """``order`` with each class's methods put back in their collected order, in the places
    the class's methods hold in ``order``: everything else stays where it is."""
    rank = {nodeid: at for at, nodeid in enumerate(collected)}
    places: dict[str, list[int]] = {}
    for at, nodeid in enumerate(order):
        owner = class_of(nodeid)
        if owner is not None:
            places.setdefault(owner, []).append(at)
    kept = list(order)
    for slots in places.values():
        methods = sorted((order[at] for at in slots), key=lambda n: rank.get(n, len(rank)))
        for at, nodeid in zip(slots, methods, strict=True):
            kept[at] = nodeid
    return kept


def class_order_dependences(store: Store, matrix: Matrix, findings: Sequence[Finding],
                            collected: Sequence[str]) -> list[ClassOrderDependence]:
    """The classes whose tests depend on their own method order (see the module's
    docstring), each with its tests that were judged for it."""
    judged: dict[str, list[Finding]] = {}
    for finding in findings:
        owner = class_of(finding.nodeid)
        if owner is not None and finding.verdict in _JUDGED:
            judged.setdefault(owner, []).append(finding)
    if not judged:
        return []
    rank = {nodeid: at for at, nodeid in enumerate(collected)}
    orders = {run.id: _class_orders(store, run.id, set(judged)) for run in matrix.runs}
    found = []
    for owner, owned in sorted(judged.items()):
        methods = [t for t in collected if class_of(t) == owner]
        if _inside(owner, owned) and _only_out_of_order(owner, methods, matrix, orders, rank):
            found.append(ClassOrderDependence(owner, tuple(f.nodeid for f in owned)))
    return found


def _class_orders(store: Store, run_id: int, owners: set[str]) -> dict[str, list[str]]:
    """Each class's methods in the order they ran in a run (by process, then sequence)."""
    ran: dict[str, list[str]] = {}
    for row in store.executions(run_id):
        owner = class_of(row.nodeid)
        if owner in owners:
            ran.setdefault(owner, []).append(row.nodeid)
    return ran


def _in_order(ran: Sequence[str], rank: Mapping[str, int]) -> bool:
    positions = [rank.get(n, -1) for n in ran]
    return positions == sorted(positions)


def _only_out_of_order(owner: str, methods: Sequence[str], matrix: Matrix,
                       orders: Mapping[int, Mapping[str, list[str]]],
                       rank: Mapping[str, int]) -> bool:
    in_order_runs = 0
    for run in matrix.runs:
        ran = orders[run.id].get(owner, [])
        failed = any(matrix.cell(t, run.id).is_failure for t in methods)
        if _in_order(ran, rank):
            if failed:
                return False
            in_order_runs += all(matrix.cell(t, run.id) is not Outcome.NOT_RUN for t in methods)
    return in_order_runs > 0


def _inside(owner: str, owned: Sequence[Finding]) -> bool:
    """Each finding's replayed order had one of the class's own methods before it."""
    for finding in owned:
        replay = (finding.evidence.passing_order if finding.verdict is Verdict.BRITTLE
                  else finding.evidence.failing_order)
        if replay is None or not any(class_of(t) == owner for t in replay.prefix):
            return False
    return True


def collected_order(store: Store, matrix: Matrix) -> list[str]:
    """The collected order, as the serial run of it recorded it (the matrix's tests after)."""
    run = next((r for r in matrix.runs
                if r.ordering == OrderingKind.COLLECTED and r.workers == 0), None)
    ran = [row.nodeid for row in store.executions(run.id)] if run is not None else []
    seen = set(ran)
    return ran + [t for t in matrix.tests if t not in seen]
