"""Which resources two tests on different workers share in a way that can collide.

Sharing needs one side to change the resource (write or bind): two readers of a file, two
clients of a server, two runs of a program leave nothing for the other to trip on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from .model import Access, Resource, ResourceKind, display_name, kind_text

# Most telling first: a declared table or a database explains a failure better than a file.
_KIND_ORDER = {
    kind: rank
    for rank, kind in enumerate(
        (
            ResourceKind.TABLE,
            ResourceKind.REDIS,
            ResourceKind.DECLARED,
            ResourceKind.SQLITE,
            ResourceKind.HTTP,
            ResourceKind.PORT,
            ResourceKind.FILE,
            ResourceKind.ENDPOINT,
            ResourceKind.PROGRAM,
        )
    )
}
# The stronger access first: "(write/read)", "bind/connect".
_ACCESS_ORDER = {Access.BIND: 0, Access.WRITE: 1, Access.LEAVE: 2, Access.CONNECT: 3,
                 Access.READ: 4, Access.RUN: 5}
_CHANGES = frozenset({Access.WRITE, Access.BIND, Access.LEAVE})
_PATHS = frozenset({ResourceKind.FILE, ResourceKind.SQLITE})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_WILDCARD = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True)
class Shared:
    kind: ResourceKind
    name: str
    label: str
    first_access: Access  # the side that changes it
    second_access: Access


def shared_resources(culprit: Iterable[Resource], victim: Iterable[Resource]) -> list[Shared]:
    """Resources both sides touch where at least one side writes or binds, most telling
    kind first."""
    # Paths and declared resources match by name, so they are looked up, not paired: a test
    # can touch thousands of files. Ports match with wildcards and are few: paired.
    by_key: dict[tuple[str, str, str], list[Resource]] = {}
    sockets: list[Resource] = []
    for theirs in victim:
        key = _match_key(theirs)
        if key is None:
            sockets.append(theirs)
        else:
            by_key.setdefault(key, []).append(theirs)
    found: dict[tuple[ResourceKind, str, str], Shared] = {}
    for ours in culprit:
        match = _match_key(ours)
        for theirs in sockets if match is None else by_key.get(match, ()):
            shared = _shared(ours, theirs)
            if shared is not None:
                key = (shared.kind, shared.label, shared.name)
                held = found.get(key)
                if held is None or _strength(shared) < _strength(held):
                    found[key] = shared
    return sorted(found.values(), key=lambda s: (_KIND_ORDER[s.kind], s.label, s.name))


def _match_key(r: Resource) -> tuple[str, str, str] | None:
    if r.kind in _PATHS:
        return ("path", "", r.name)
    if r.kind is ResourceKind.DECLARED:
        return ("declared", _norm_label(r.label), r.name)
    if r.kind is ResourceKind.TABLE:
        return ("table", r.label, r.name)
    return None


def _strength(s: Shared) -> tuple[int, int]:
    return (_ACCESS_ORDER[s.first_access], _ACCESS_ORDER[s.second_access])


def _shared(a: Resource, b: Resource) -> Shared | None:
    if a.access not in _CHANGES and b.access not in _CHANGES:
        return None
    first, second = sorted((a, b), key=lambda r: _ACCESS_ORDER[r.access])
    if a.kind in _PATHS and b.kind in _PATHS:
        if a.name != b.name:
            return None
        # One side's sqlite database removed or rewritten as a file by the other is still
        # the database.
        kind = ResourceKind.SQLITE if ResourceKind.SQLITE in (a.kind, b.kind) else a.kind
        return Shared(kind, a.name, "", first.access, second.access)
    if a.kind is ResourceKind.DECLARED and b.kind is ResourceKind.DECLARED:
        if a.name != b.name or _norm_label(a.label) != _norm_label(b.label):
            return None
        return Shared(ResourceKind.DECLARED, a.name, first.label, first.access, second.access)
    if a.kind is ResourceKind.TABLE and b.kind is ResourceKind.TABLE:
        if (a.label, a.name) != (b.label, b.name):
            return None
        return Shared(ResourceKind.TABLE, a.name, a.label, first.access, second.access)
    if a.kind is ResourceKind.REDIS and b.kind is ResourceKind.REDIS:
        return _shared_redis(first, second)
    if a.kind is ResourceKind.HTTP and b.kind is ResourceKind.HTTP:
        # A service's state is one thing: a reset on one path empties what another path lists.
        if not _same_address(_service(a.name), _service(b.name), both_bind=False):
            return None
        return Shared(ResourceKind.HTTP, first.name, "", first.access, second.access)
    kinds = {a.kind, b.kind}
    if kinds == {ResourceKind.PORT}:
        if not _same_address(a.name, b.name, both_bind=True):
            return None
        return Shared(ResourceKind.PORT, a.name, "", Access.BIND, Access.BIND)
    if kinds == {ResourceKind.PORT, ResourceKind.ENDPOINT}:
        # A server one test binds and the other connects to; sorted, first is the bind.
        if not _same_address(first.name, second.name, both_bind=False):
            return None
        return Shared(ResourceKind.ENDPOINT, second.name, "", Access.BIND, Access.CONNECT)
    return None


def _shared_redis(first: Resource, second: Resource) -> Shared | None:
    """One server, one db (or every db: FLUSHALL), one key (or a pattern matching it)."""
    server, _, db = first.label.rpartition("/")
    other_server, _, other_db = second.label.rpartition("/")
    if server != other_server or (db != other_db and "*" not in (db, other_db)):
        return None
    a, b = first.name, second.name
    if not (a == b or fnmatchcase(b, a) or fnmatchcase(a, b)):
        return None
    # The concrete key says more than a pattern; the concrete db more than "every db".
    name = b if a == "*" or (a != b and fnmatchcase(b, a)) else a
    label = second.label if db == "*" else first.label
    return Shared(ResourceKind.REDIS, name, label, first.access, second.access)


def _service(name: str) -> str:
    return name.partition("/")[0]


def _norm_label(label: str) -> str:
    return " ".join(label.split()).casefold()


def _split_address(name: str) -> tuple[str, str] | None:
    host, sep, port = name.rpartition(":")
    if not sep or not port.isdigit():
        return None  # an AF_UNIX path or abstract name: compared whole
    return host.strip("[]"), port


def _same_address(bound: str, other: str, *, both_bind: bool) -> bool:
    """Whether ``other`` (a bind or a connect) reaches the address ``bound`` binds."""
    ours, theirs = _split_address(bound), _split_address(other)
    if ours is None or theirs is None:
        return bound == other
    (host, port), (other_host, other_port) = ours, theirs
    if port != other_port:
        return False
    if host == other_host:
        return True
    if both_bind and (host in _WILDCARD or other_host in _WILDCARD):
        return True  # a wildcard bind takes the port on every local address
    if host in _WILDCARD:
        return other_host in _LOOPBACK or other_host in _WILDCARD
    # "localhost" is a loopback address by another name.
    return "localhost" in (host, other_host) and {host, other_host} <= _LOOPBACK


def describe_shared(s: Shared, cwd: str | os.PathLike[str] | None = None) -> str:
    """E.g. ``both use file audit.db (write/read)``, ``both bind 127.0.0.1:18094``."""
    name = display_name(s.kind, s.name, cwd)
    if s.first_access is Access.BIND and s.second_access is Access.BIND:
        return f"both bind {name}"
    if s.kind is ResourceKind.REDIS and s.name == "*":
        # FLUSHDB / FLUSHALL: the whole db, or every db, of one server.
        return (f"both use every key of redis {s.label}, one flushes it "
                f"({s.first_access.value}/{s.second_access.value})")
    return (
        f"both use {kind_text(s.kind, s.label)} {name} "
        f"({s.first_access.value}/{s.second_access.value})"
    )


_STOPGAP = (
    '@pytest.mark.xdist_group("{group}") with --dist loadgroup keeps them on one worker '
    "(a stopgap, not a fix; pytest 9.2 with pytest-xdist 3.8 ignores the mark, "
    "pytest-xdist issue #1386: there, move them into one module and use --dist loadfile)"
)


def fix_hints(shared: Sequence[Shared]) -> list[str]:
    """Short hints fitting what the two tests share, most telling first; the last one is
    always the xdist_group stopgap. Nothing shared, no hints."""
    ordered = sorted(shared, key=lambda s: _KIND_ORDER[s.kind])
    hints: list[str] = []
    for s in ordered:
        hint = _hint(s)
        if hint is not None and hint not in hints:
            hints.append(hint)
    if ordered:
        hints.append(_STOPGAP.format(group=_group_name(ordered[0])))
    return hints


def _hint(s: Shared) -> str | None:
    if s.kind is ResourceKind.FILE:
        return (
            "give each test its own file: a per-test path from `tmp_path`, "
            "or a name scoped by the `worker_id` fixture"
        )
    if s.kind is ResourceKind.SQLITE:
        return (
            "give each test its own database: a file under `tmp_path`, "
            "a name scoped by the `worker_id` fixture, or `:memory:`"
        )
    if s.kind is ResourceKind.PORT:
        return (
            "bind port 0 and read the port the OS picked (`sock.getsockname()[1]`) "
            "instead of a fixed port"
        )
    if s.kind is ResourceKind.ENDPOINT:
        return (
            "start the server in the test that uses it, on port 0, "
            "and connect to the port the OS picked"
        )
    if s.kind is ResourceKind.TABLE:
        if s.first_access is Access.WRITE and s.second_access is Access.WRITE:
            return (
                f"for table {s.name}: create and drop it once per session (or a schema per "
                "worker via `worker_id`), and give each test its own rows, with a per-test id "
                "it filters and deletes by"
            )
        return (
            f"for table {s.name}: count and delete only the test's own rows (filter by a "
            "per-test id), or run each test in a transaction rolled back at its end"
        )
    if s.kind is ResourceKind.REDIS:
        return (
            "give each test its own keys (a per-test prefix) and delete only those; never "
            "FLUSHDB/FLUSHALL a server other workers use, or give each worker its own db "
            "number via `worker_id`"
        )
    if s.kind is ResourceKind.HTTP:
        return (
            f"start the service at {_service(s.name)} per test or per worker (port 0), or "
            "scope its state by a per-test id instead of resetting all of it"
        )
    if s.kind is ResourceKind.DECLARED:
        return (
            f"for the {kind_text(s.kind, s.label)}: give each test its own rows or keys, "
            "with unique ids per test (a correlation id column or a per-test name prefix), "
            "or names scoped by the `worker_id` fixture"
        )
    return None


def _group_name(s: Shared) -> str:
    # A short, readable group name: a file's base name, a table's name, a port's address.
    base = os.path.basename(s.name) if s.kind in _PATHS else s.name
    if s.kind is ResourceKind.HTTP:
        base = _service(s.name)
    return re.sub(r"[^\w.:@-]+", "_", base).strip("_") or s.kind.name.lower()
