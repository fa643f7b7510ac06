"""What an outside resource is: its kind, its name, and how a test used it."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Access(str, Enum):
    READ = "read"
    WRITE = "write"
    BIND = "bind"
    CONNECT = "connect"
    RUN = "run"
    # Left behind: rows, keys or files the test made and that outlive it (a marker kept beside
    # the resource's read or write entry, not instead of it).
    LEAVE = "leave"


class ResourceKind(str, Enum):
    FILE = "file"
    SQLITE = "sqlite database"
    PORT = "port"  # a socket bind: two binds of one address collide
    ENDPOINT = "endpoint"  # a socket connect: harmless alone, shared with a bind of it
    PROGRAM = "program"  # a subprocess, kept to explain what a test ran
    DECLARED = "declared"  # the user's own word for it, in Resource.label
    # Seen at a database driver: name is the table, label the database ("postgresql
    # 127.0.0.1:5432/app", "sqlite /abs/app.db").
    TABLE = "table"
    # Seen at redis-py: name is a key or a pattern ("*": every key, FLUSHDB), label the server
    # and db ("127.0.0.1:6379/0"; "/*" for every db, FLUSHALL).
    REDIS = "redis key"
    # Seen at http.client (urllib, requests) or httpx: name is host:port and path.
    HTTP = "http endpoint"


# Kinds whose names are absolute paths and so may be shown relative to the cwd.
PATH_KINDS = frozenset({ResourceKind.FILE, ResourceKind.SQLITE})


@dataclass(frozen=True, order=True)
class Resource:
    kind: ResourceKind
    name: str
    access: Access
    label: str = ""  # for DECLARED: the user's kind text, e.g. "postgres table"

    def describe(self, cwd: str | os.PathLike[str] | None = None) -> str:
        """E.g. ``file audit.db``, ``port 127.0.0.1:18094``, ``postgres table ledger_entries``."""
        return f"{kind_text(self.kind, self.label)} {display_name(self.kind, self.name, cwd)}"

    def to_json(self) -> list[str]:
        """Compact ``[kind, name, access]``, with the label appended only when there is one."""
        out = [self.kind.value, self.name, self.access.value]
        if self.label:
            out.append(self.label)
        return out

    @classmethod
    def from_json(cls, data: object) -> Resource:
        """The inverse of ``to_json``; ValueError for anything else (it reads files from disk)."""
        if not isinstance(data, (list, tuple)) or len(data) not in (3, 4):
            raise ValueError(f"a resource is a list of 3 or 4 strings, not {data!r}")
        if not all(isinstance(part, str) for part in data):
            raise ValueError(f"a resource is a list of strings, not {data!r}")
        kind, name, access = (ResourceKind(data[0]), data[1], Access(data[2]))
        if not name:
            raise ValueError(f"a resource needs a name: {data!r}")
        return cls(kind, name, access, data[3] if len(data) == 4 else "")


def kind_text(kind: ResourceKind, label: str = "") -> str:
    # A declared resource reads best in the user's words ("postgres table").
    if kind is ResourceKind.DECLARED and label:
        return label
    if kind is ResourceKind.TABLE and label:
        return f"{label} table"  # "postgresql 127.0.0.1:5432/app table"
    if kind is ResourceKind.REDIS and label:
        return f"redis {label} key"  # "redis 127.0.0.1:6379/0 key"
    return kind.value


def display_name(kind: ResourceKind, name: str, cwd: str | os.PathLike[str] | None = None) -> str:
    """A path inside the cwd is shown relative to it; everything else as recorded."""
    if kind not in PATH_KINDS:
        return name
    base = os.fspath(cwd) if cwd is not None else os.getcwd()
    base = base.rstrip(os.sep) or os.sep
    prefix = base if base.endswith(os.sep) else base + os.sep
    return name[len(prefix) :] if name.startswith(prefix) else name


def merged(resources: Iterable[Resource]) -> list[Resource]:
    """One entry per resource, sorted. Seen both read and written, a resource counts as
    written: that is the access that can collide with another test."""
    best: dict[tuple[ResourceKind, str, str, bool], Resource] = {}
    for res in resources:
        key = (res.kind, res.label, res.name, res.access is Access.LEAVE)
        held = best.get(key)
        if held is None or (held.access is Access.READ and res.access is not Access.READ):
            best[key] = res
    return sorted(best.values())
