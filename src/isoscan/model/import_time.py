"""Import-time dependences: what "alone" means, and which import breaks a test.

A test can be run alone in two ways. isoscan's trials run it *with the whole suite collected*:
a fork of one collected session, or a fresh pytest over the whole suite selecting only it. A
user runs ``pytest path/to/test_module.py::test_x``: *in its own module*, which collects only that
module and its conftests. Collecting imports every test module, so a module that changes state
at import time (a library switched to another backend, an env var set, a registry filled) is
present in the first and absent from the second. A test that passes in its own module and fails
with the whole suite collected has an import-time dependence: it is not brittle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from isoscan.model.status import TextEnum


class Alone(TextEnum):
    """Which "alone" an outcome is of; every sentence that says "alone" names one."""

    SUITE = "suite"  # only it runs, the whole suite collected (isoscan's trials)
    MODULE = "module"  # only it runs, only its own module collected (``pytest file::id``)

    @property
    def phrase(self) -> str:
        return _PHRASES[self]


_PHRASES = {Alone.SUITE: "alone with the whole suite collected",
            Alone.MODULE: "alone in its own module"}


class ModuleAlone(TextEnum):
    """What running a test alone in its own module, a few times, showed."""

    PASSES = "passes"
    FAILS = "fails"
    MIXED = "mixed"  # passed and failed
    NOT_RUN = "not-run"  # its module could not be collected on its own


@dataclass(frozen=True)
class ImportCause:
    """One state change made by importing ``module`` while ``via`` was collected."""

    module: str  # the file whose module-level code made the change (rootdir-relative)
    via: str  # the collected test module whose collection imported it
    kind: str  # the kind of state, as ``isoscan explain`` names it (env, global, sys.path…)
    name: str  # what changed: ``lib.network``, an env key, a sys.path entry
    change: str  # added | removed | changed | rebound | mutated | …
    action: str  # "rebinds lib.network"
    summary: str  # the snapshot diff's own line
    statement: str | None = None  # "tests/helpers/net.py:3: lib.network = FakeNetwork()"
    hint: str = ""
    # From the collected test module to the blamed module, its line last when it is known:
    # ("tests/net/test_other.py", "tests/net/helpers/chain_helpers.py:4").
    chain: tuple[str, ...] = ()
    # The calls below ``statement`` down to the line that made the change, outermost first:
    # ("lib/__init__.py:7: chain = chains.get(name)",).
    calls: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return f"importing {self.module} {self.action}"

    @property
    def where(self) -> str:
        """``tests/net/test_other.py → tests/net/helpers/chain_helpers.py:4``"""
        return " → ".join(self.chain)

    def to_json(self) -> dict[str, Any]:
        return {"module": self.module, "via": self.via, "kind": self.kind, "name": self.name,
                "change": self.change, "action": self.action, "summary": self.summary,
                "statement": self.statement, "hint": self.hint, "text": self.text,
                "chain": list(self.chain), "calls": list(self.calls)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImportCause:
        def text(key: str) -> str:
            return str(data.get(key) or "")

        def texts(key: str) -> tuple[str, ...]:
            value = data.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        statement = data.get("statement")
        return cls(module=text("module"), via=text("via"), kind=text("kind"), name=text("name"),
                   change=text("change"), action=text("action"), summary=text("summary"),
                   statement=str(statement) if statement else None, hint=text("hint"),
                   chain=texts("chain"), calls=texts("calls"))


@dataclass
class OwnModuleFinding:
    """The same test judged in its own-module frame: its failing order replayed with only the
    modules that order needs collected (its own and those of the tests before it, less the
    modules whose import breaks it). A polluter found there is a second finding, with a fix and
    a reproduction of its own: removing the import-time change leaves that one standing."""

    collected: list[str]  # the test modules collected, in the suite's order
    kind: str  # the bisect's answer there: victim | brittle | not-reproducible | …
    polluters: list[list[str]] = field(default_factory=list)
    state_setters: list[str] = field(default_factory=list)
    reproduce: str = ""  # the first set's command (it fails)
    reproduce_all: list[str] = field(default_factory=list)  # one per independent set
    note: str = ""
    source: str = ""  # the order it started from
    trials: int = 0
    state: str = ""  # what the polluter leaves behind, as ``isoscan explain`` names it first
    fix: str = ""  # that change's fix

    @property
    def found(self) -> bool:
        return bool(self.polluters or self.state_setters)

    @property
    def text(self) -> str:
        """``with only tests/a.py and tests/b.py collected: polluter tests/b.py::test_x``"""
        frame = f"with only {_names(self.collected)} collected"
        if self.polluters:
            noun = "polluter" if len(self.polluters) == 1 else "polluters"
            return f"{frame}: {noun} " + "; ".join(" + ".join(s) for s in self.polluters)
        if self.state_setters:
            return f"{frame}: state-setter " + ", ".join(self.state_setters)
        return f"{frame}: no polluter ({self.note or self.kind})"

    def to_json(self) -> dict[str, Any]:
        return {"collected": self.collected, "kind": self.kind, "polluters": self.polluters,
                "state_setters": self.state_setters, "reproduce": self.reproduce,
                "reproduce_all": self.reproduce_all, "note": self.note, "source": self.source,
                "trials": self.trials, "state": self.state, "fix": self.fix, "text": self.text}

    @classmethod
    def from_json(cls, data: object) -> OwnModuleFinding | None:
        if not isinstance(data, Mapping):
            return None

        def strs(value: object) -> list[str]:
            return [str(v) for v in value] if isinstance(value, list) else []

        polluters = data.get("polluters")
        return cls(strs(data.get("collected")), str(data.get("kind") or ""),
                   [strs(s) for s in polluters] if isinstance(polluters, list) else [],
                   strs(data.get("state_setters")), str(data.get("reproduce") or ""),
                   strs(data.get("reproduce_all")), str(data.get("note") or ""),
                   str(data.get("source") or ""), int(data.get("trials") or 0),
                   str(data.get("state") or ""), str(data.get("fix") or ""))


def _names(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


@dataclass
class ImportDependence:
    """Why a test that passes alone in its own module fails with the whole suite collected."""

    modules: list[str]  # the fewest other test modules whose collection breaks it
    causes: list[ImportCause] = field(default_factory=list)
    passes: str = ""  # the command that runs it alone in its own module (passes)
    fails: str = ""  # the same, with ``modules`` collected too (fails)
    note: str = ""
    # Its failing order in its own-module frame (``bisect --bisect`` and ``seeds --bisect``).
    own_module: OwnModuleFinding | None = None

    @property
    def text(self) -> str:
        """``fails when tests/b/test_other.py is collected: importing tests/helpers/net.py
        rebinds lib.network``"""
        if not self.modules:
            return ("fails only with the whole suite collected; collecting its test modules "
                    "beside it does not break it")
        names = _names(self.modules)
        verb = "is" if len(self.modules) == 1 else "are"
        text = f"fails when {names} {verb} collected"
        shown = self.headline_causes()
        if shown:
            text += ": " + "; ".join(cause.text for cause in shown)
        return text

    def headline_causes(self) -> list[ImportCause]:
        """The best-ranked cause for each module of the set (``causes`` is ranked)."""
        shown: list[ImportCause] = []
        for module in self.modules:
            cause = next((c for c in self.causes if c.via == module), None)
            if cause is not None and cause not in shown:
                shown.append(cause)
        return shown or self.causes[:1]

    def to_json(self) -> dict[str, Any]:
        return {"modules": self.modules, "causes": [c.to_json() for c in self.causes],
                "passes": self.passes, "fails": self.fails, "note": self.note,
                "text": self.text,
                "own_module": self.own_module.to_json() if self.own_module else None}

    @classmethod
    def from_json(cls, data: object) -> ImportDependence | None:
        if not isinstance(data, Mapping):
            return None
        modules = data.get("modules")
        causes = data.get("causes")
        return cls([str(m) for m in modules] if isinstance(modules, list) else [],
                   [ImportCause.from_json(c) for c in causes if isinstance(c, Mapping)]
                   if isinstance(causes, list) else [],
                   str(data.get("passes") or ""), str(data.get("fails") or ""),
                   str(data.get("note") or ""), OwnModuleFinding.from_json(data.get("own_module")))
