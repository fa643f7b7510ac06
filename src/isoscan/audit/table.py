"""The audit table: one row per shared resource, with the tests that change it, read it,
leave data in it, and the confirmed collisions through it (victim, culprit)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

from isoscan.audit.candidates import bucket
from isoscan.audit.model import Candidate, ResourceRow
from isoscan.model.answer import BisectResult
from isoscan.resources import Access, Resource, ResourceKind, Shared
from isoscan.resources.model import display_name, kind_text

_CHANGES = frozenset({Access.WRITE, Access.BIND})
_READS = frozenset({Access.READ, Access.CONNECT})


def build_rows(touched: Mapping[str, Sequence[Resource]], candidates: Sequence[Candidate],
               collisions: Sequence[BisectResult], cwd: str | os.PathLike[str]
               ) -> list[ResourceRow]:
    rows: dict[tuple[str, str, str], ResourceRow] = {}
    members: dict[tuple[str, str, str], set[str]] = {}
    shared_of: dict[tuple[str, str, str], Shared] = {}
    for candidate in candidates:
        for shared in candidate.shared:
            key = (shared.kind.value, shared.label, shared.name)
            shared_of.setdefault(key, shared)
            members.setdefault(key, set()).update((candidate.first, candidate.second))
    for key, tests in members.items():
        shared = shared_of[key]
        row = ResourceRow(shared.kind.value, display_name(shared.kind, shared.name, cwd),
                          shared.label,
                          f"{kind_text(shared.kind, shared.label)} "
                          f"{display_name(shared.kind, shared.name, cwd)}")
        for test in sorted(tests):
            accesses = {r.access for r in touched.get(test, ()) if _touches(r, shared)}
            if accesses & _CHANGES:
                row.writers.append(test)
            elif accesses & _READS:
                row.readers.append(test)
            if Access.LEAVE in accesses:
                row.leave_data.append(test)
        rows[key] = row
    _drop_covered(rows)
    for result in collisions:
        if result.parallel is None:
            continue
        for through in result.parallel.shared:
            for key, row in rows.items():
                if (key[2], key[1] or key[0]) == (through.name, through.kind):
                    pair = (result.victim, through.culprit)
                    if pair not in row.collisions:
                        row.collisions.append(pair)
    return sorted(rows.values(), key=lambda r: (not r.collisions, r.kind, r.where, r.name))


def _drop_covered(rows: dict[tuple[str, str, str], ResourceRow]) -> None:
    """A database file with table rows, and a port with HTTP rows, say nothing more as rows
    of their own: the table and the endpoint are what the team changes."""
    databases = {label.removeprefix("sqlite ") for kind, label, _ in rows
                 if kind == ResourceKind.TABLE.value and label.startswith("sqlite ")}
    services = {name.partition("/")[0].rpartition(":")[2] for kind, _, name in rows
                if kind == ResourceKind.HTTP.value}
    for key in list(rows):
        kind, _, name = key
        paths = (ResourceKind.FILE.value, ResourceKind.SQLITE.value)
        sockets = (ResourceKind.PORT.value, ResourceKind.ENDPOINT.value)
        if (kind in paths and name in databases) or \
                (kind in sockets and name.rpartition(":")[2] in services):
            del rows[key]


def _touches(resource: Resource, shared: Shared) -> bool:
    """Whether ``resource`` is (part of) the shared one: the same path, table, key (or a
    pattern over it), HTTP service, or port."""
    if bucket(resource) is None:
        return False
    kind = shared.kind
    if kind is ResourceKind.REDIS:
        if resource.kind is not ResourceKind.REDIS:
            return False
        server, _, db = resource.label.rpartition("/")
        other_server, _, other_db = shared.label.rpartition("/")
        if server != other_server or (db != other_db and "*" not in (db, other_db)):
            return False
        return fnmatchcase(shared.name, resource.name) or fnmatchcase(resource.name,
                                                                       shared.name)
    if kind in (ResourceKind.HTTP, ResourceKind.PORT, ResourceKind.ENDPOINT):
        return bucket(resource) == bucket(Resource(kind, shared.name, Access.WRITE, shared.label))
    if kind in (ResourceKind.FILE, ResourceKind.SQLITE):
        return resource.kind in (ResourceKind.FILE, ResourceKind.SQLITE) and \
            resource.name == shared.name
    return (resource.kind, resource.label, resource.name) == (kind, shared.label, shared.name)
