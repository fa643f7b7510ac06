"""What outside resources each test touches: files, SQLite databases, ports, programs, and
resources users declare (a Postgres table). Two tests on different xdist workers that share
one, at least one of them changing it, explain a parallel-only failure."""

from __future__ import annotations

import sys

from .audit import DECLARE_EVENT, ResourceTracker
from .model import Access, Resource, ResourceKind
from .sharing import Shared, describe_shared, fix_hints, shared_resources

__all__ = [
    "Access",
    "Resource",
    "ResourceKind",
    "ResourceTracker",
    "Shared",
    "declare",
    "describe_shared",
    "fix_hints",
    "shared_resources",
]


def declare(kind: str, name: str, access: str = "write") -> None:
    """Tell isoscan the running test touches a resource it cannot see, e.g.
    ``declare("postgres table", "ledger_entries")`` in a fixture or helper. ``access`` is
    ``"read"`` or ``"write"``. Costs next to nothing when isoscan is not tracking."""
    if not isinstance(kind, str) or not kind.strip():
        raise ValueError(f"declare() needs a kind such as 'postgres table', not {kind!r}")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"declare() needs the resource's name, not {name!r}")
    if access not in (Access.READ.value, Access.WRITE.value):
        raise ValueError(f"declare() access is 'read' or 'write', not {access!r}")
    # An audit event, so the tracker's one hook collects it with everything else.
    sys.audit(DECLARE_EVENT, " ".join(kind.split()), name.strip(), access)
