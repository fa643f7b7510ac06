"""Candidate pairs: two tests that can run on different workers and share an outside resource
that at least one of them changes (writes, binds, or leaves data in), most likely first.

Resources are bucketed by what can match at all (one path, one table, one Redis server, one
HTTP service, one port number), so only tests in one bucket are paired: the cost grows with
the tests that share something, not with the square of the suite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from isoscan.audit.model import Candidate, Dist
from isoscan.resources import Access, Resource, ResourceKind, Shared, shared_resources

# How likely a collision through each kind of resource is: state inside a server or a
# database first, a file last (many are written once and only read after).
_KIND_WEIGHT = {
    ResourceKind.TABLE: 1.0,
    ResourceKind.REDIS: 1.0,
    ResourceKind.HTTP: 0.9,
    ResourceKind.DECLARED: 0.9,
    ResourceKind.PORT: 0.9,
    ResourceKind.SQLITE: 0.7,
    ResourceKind.ENDPOINT: 0.5,
    ResourceKind.FILE: 0.5,
}
_CHANGES = frozenset({Access.WRITE, Access.BIND, Access.LEAVE})
_LOOPBACK = {"localhost": "127.0.0.1", "::1": "127.0.0.1", "0.0.0.0": "127.0.0.1"}


def scope_of(nodeid: str, dist: Dist) -> str:
    """The unit xdist keeps on one worker under ``dist`` ("" for LOAD: none)."""
    if dist is Dist.LOAD:
        return nodeid
    parts = nodeid.split("::")
    if dist is Dist.LOADFILE or len(parts) <= 2:
        return parts[0]
    return "::".join(parts[:-1])  # loadscope: a class's tests stay together


def class_of(nodeid: str) -> str:
    """``file::Class`` for a test in a class, else "": a class's tests share its class-scoped
    fixtures, so the audit replays them together (as context) rather than against each
    other."""
    parts = nodeid.split("::")
    return "::".join(parts[:-1]) if len(parts) > 2 else ""


def class_context(nodeids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per test in a class, the tests of that class before it, in collection order."""
    before: dict[str, list[str]] = {}
    context: dict[str, tuple[str, ...]] = {}
    for nodeid in nodeids:
        cls = class_of(nodeid)
        if cls:
            seen = before.setdefault(cls, [])
            context[nodeid] = tuple(seen)
            seen.append(nodeid)
    return context


def bucket(resource: Resource) -> tuple[str, ...] | None:
    """What ``resource`` can collide with at all; None for what never collides (programs)."""
    kind = resource.kind
    if kind in (ResourceKind.FILE, ResourceKind.SQLITE):
        return ("path", resource.name)
    if kind is ResourceKind.TABLE:
        return ("table", resource.label, resource.name)
    if kind is ResourceKind.DECLARED:
        return ("declared", " ".join(resource.label.split()).casefold(), resource.name)
    if kind is ResourceKind.REDIS:
        return ("redis", resource.label.rpartition("/")[0])
    if kind is ResourceKind.HTTP:
        service = resource.name.partition("/")[0]
        host, _, port = service.rpartition(":")
        return ("http", _LOOPBACK.get(host.strip("[]"), host.strip("[]")), port)
    if kind in (ResourceKind.PORT, ResourceKind.ENDPOINT):
        return ("port", resource.name.rpartition(":")[2])
    return None


def find_candidates(touched: Mapping[str, Sequence[Resource]], dist: Dist = Dist.LOAD,
                    order: Sequence[str] = ()) -> list[Candidate]:
    """Every pair that can run apart and shares a changed resource, most likely first (ties in
    collection ``order``)."""
    buckets: dict[tuple[str, ...], dict[str, list[Resource]]] = {}
    for nodeid, resources in touched.items():
        for resource in resources:
            key = bucket(resource)
            if key is not None:
                buckets.setdefault(key, {}).setdefault(nodeid, []).append(resource)
    found: dict[tuple[str, str], dict[tuple[object, ...], Shared]] = {}
    for by_test in buckets.values():
        if len(by_test) < 2:
            continue
        changers = [t for t, rs in by_test.items() if any(r.access in _CHANGES for r in rs)]
        done: set[tuple[str, str]] = set()
        for changer in changers:
            for other in by_test:
                if other == changer or scope_of(other, dist) == scope_of(changer, dist) \
                        or class_of(other) == class_of(changer) != "":
                    continue
                pair = (changer, other) if changer < other else (other, changer)
                if pair in done:
                    continue  # both change it: paired once, from either side
                done.add(pair)
                for shared in shared_resources(by_test[pair[0]], by_test[pair[1]]):
                    found.setdefault(pair, {})[(shared.kind, shared.label, shared.name)] = shared
    for (a, b), shares in found.items():
        _drop_disjoint_databases(shares, touched[a], touched[b])
    position = {nodeid: index for index, nodeid in enumerate(order)}
    candidates = [Candidate(a, b, sorted(shares.values(), key=_telling),
                            _score(list(shares.values()), touched, a, b))
                  for (a, b), shares in found.items() if shares]
    candidates.sort(key=lambda c: (-c.score, position.get(c.first, 0),
                                   position.get(c.second, 0), c.first, c.second))
    return _one_per_class(candidates, position)


def _one_per_class(candidates: list[Candidate], position: Mapping[str, int]) -> list[Candidate]:
    """Of the pairs a test makes with tests of one class, only the one with the class's last
    test: its lane runs the whole class before it, so class-scoped fixtures set up and tear
    down as in a real run, and a teardown that acts is named through the test it ends."""
    keep: dict[tuple[str, str], Candidate] = {}
    plain: list[Candidate] = []
    for candidate in candidates:
        sides = [(candidate.second, candidate.first), (candidate.first, candidate.second)]
        keyed = [(other, class_of(mine), mine) for mine, other in sides if class_of(mine)]
        if not keyed:
            plain.append(candidate)
            continue
        other, cls, mine = keyed[0]
        held = keep.get((other, cls))
        if held is None:
            keep[(other, cls)] = candidate
            continue
        held_mine = held.first if class_of(held.first) == cls else held.second
        if position.get(mine, 0) > position.get(held_mine, 0):
            candidate.score = max(candidate.score, held.score)
            keep[(other, cls)] = candidate
        else:
            held.score = max(candidate.score, held.score)
    kept = plain + list(keep.values())
    kept.sort(key=lambda c: (-c.score, position.get(c.first, 0), position.get(c.second, 0),
                             c.first, c.second))
    return kept


def _drop_disjoint_databases(shares: dict[tuple[object, ...], Shared],
                             first: Sequence[Resource], second: Sequence[Resource]) -> None:
    """Two tests that write one SQLite file but whose statements name no table in common
    (both seen at the driver) do not meet in it: the file-level share is dropped."""
    def tables(resources: Sequence[Resource]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for r in resources:
            if r.kind is ResourceKind.TABLE and r.label.startswith("sqlite "):
                found.setdefault(r.label.removeprefix("sqlite "), set()).add(r.name)
        return found

    mine, theirs = tables(first), tables(second)
    for key, shared in list(shares.items()):
        path = shared.name
        if shared.kind in (ResourceKind.SQLITE, ResourceKind.FILE) and path in mine \
                and path in theirs and not mine[path] & theirs[path]:
            del shares[key]


def _telling(shared: Shared) -> tuple[float, bool]:
    """Most telling first: the heaviest kind, a named key before "every key"."""
    return (-_weight(shared), shared.name == "*")


def _weight(shared: Shared) -> float:
    both_change = shared.second_access in _CHANGES
    return _KIND_WEIGHT.get(shared.kind, 0.3) * (1.5 if both_change else 1.0)


def _score(shared: list[Shared], touched: Mapping[str, Sequence[Resource]], a: str,
           b: str) -> float:
    """The strongest shared resource, raised when one side leaves data behind or wipes a
    whole server or table (``*``) the other uses."""
    score = max(_weight(s) for s in shared)
    leaves = any(r.access is Access.LEAVE for t in (a, b) for r in touched.get(t, ()))
    wipes = any(s.name == "*" or s.label.endswith("/*") for s in shared)
    return round(score + 0.5 * leaves + 0.5 * wipes + 0.1 * (len(shared) - 1), 3)


def can_meet(first: Sequence[Resource], second: Sequence[Resource]) -> bool:
    """Whether two tests share a resource one of them changes, wherever they run: what makes
    a candidate pair, and what keeps two pairs' replays out of one round."""
    mine = {key for key in map(bucket, first) if key is not None}
    common = mine & {key for key in map(bucket, second) if key is not None}
    if not common:
        return False
    found = shared_resources([r for r in first if bucket(r) in common],
                             [r for r in second if bucket(r) in common])
    shares: dict[tuple[object, ...], Shared] = {(s.kind, s.label, s.name): s for s in found}
    _drop_disjoint_databases(shares, first, second)
    return bool(shares)
