"""What every kind of state shares: the ``StateKind`` protocol, ``Change``, ``Context``, the
``Snapshot`` container, and the helpers that render values in a report line."""

from __future__ import annotations

import reprlib
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = 4


@dataclass(frozen=True)
class Change:
    """One piece of state that differs after the polluter; ``terms`` are what a victim that
    depends on it would likely mention (a key, a name, a file name)."""

    kind: str
    name: str
    change: str  # added | removed | changed | rebound | mutated | left-open | closed
    summary: str
    terms: tuple[str, ...] = ()
    detail: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", tuple(dict.fromkeys(t for t in self.terms if t)))

    @property
    def line(self) -> str:
        return f"{self.kind} {self.name}: {self.summary}" if self.name else \
            f"{self.kind}: {self.summary}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "change": self.change,
                "summary": self.summary, "terms": list(self.terms), "detail": dict(self.detail)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return cls(str(data["kind"]), str(data["name"]), str(data["change"]),
                   str(data["summary"]), tuple(str(t) for t in data.get("terms", ())),
                   {str(k): str(v) for k, v in dict(data.get("detail", {})).items()})


@dataclass(frozen=True)
class Context:
    """Where to look: the rootdir, the private temp dir, and what the user hook returns."""

    rootdir: str
    tmpdir: str
    system_tmp: str = ""
    exclude: frozenset[str] = frozenset()
    user_state: Callable[[], dict[str, Any]] | None = None
    # Modules outside the project whose globals are compared too: the libraries a victim
    # imports, whose configuration another module may switch at import time.
    modules: frozenset[str] = frozenset()
    # The victim's words; entries of the shared system temp dir are only compared if named there.
    victim_strings: Callable[[], frozenset[str]] = lambda: frozenset()


@dataclass
class Snapshot:
    sections: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


T = TypeVar("T")


class StateKind(Protocol[T]):
    """One kind of process state: ``take`` reads it, ``diff`` compares two readings. ``name``
    keys its section of a ``Snapshot``. A kind subclasses this explicitly, so mypy rejects one
    that leaves any of the three out."""

    name: ClassVar[str]

    @abstractmethod
    def take(self, ctx: Context) -> T: ...

    @abstractmethod
    def diff(self, before: T, after: T, ctx: Context) -> list[Change]: ...


class ScalarKind(StateKind[T]):
    """A single process-wide value, reported as ``before -> after``."""

    terms: ClassVar[tuple[str, ...]]

    def render(self, value: T) -> str:
        return short(value)

    def diff(self, before: T, after: T, ctx: Context) -> list[Change]:
        if before == after:
            return []
        old, new = self.render(before), self.render(after)
        return [Change(self.name, "", "changed", f"{old} -> {new}", self.terms,
                       {"before": old, "after": new})]


def short(value: object) -> str:
    try:
        return _short.repr(value)
    except Exception:  # a broken __repr__ must not break the snapshot
        return f"<{type(value).__name__} object>"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"


def multiset_diff(before: list[Any], after: list[Any]) -> tuple[list[Any], list[Any]]:
    """Entries added and removed, duplicates counted, each list in its own order."""
    added, removed = Counter(after) - Counter(before), Counter(before) - Counter(after)
    return _take(after, added), _take(before, removed)


def _take(entries: list[Any], wanted: Counter[Any]) -> list[Any]:
    out = []
    for entry in entries:
        if wanted[entry] > 0:
            wanted[entry] -= 1
            out.append(entry)
    return out
