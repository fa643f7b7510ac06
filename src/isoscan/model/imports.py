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
class ImportDependence:
    """Why a test that passes alone in its own module fails with the whole suite collected."""

    modules: list[str]  # the fewest other test modules whose collection breaks it
    causes: list[ImportCause] = field(default_factory=list)
    passes: str = ""  # the command that runs it alone in its own module (passes)
    fails: str = ""  # the same, with ``modules`` collected too (fails)
    note: str = ""

    @property
    def text(self) -> str:
        """``fails when tests/b/test_other.py is collected: importing tests/helpers/net.py
        rebinds lib.network``"""
        if not self.modules:
            return ("fails only with the whole suite collected; collecting its test modules "
                    "beside it does not break it")
        names = " and ".join(self.modules) if len(self.modules) <= 2 else \
            ", ".join(self.modules[:-1]) + f" and {self.modules[-1]}"
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
                "text": self.text}

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
                   str(data.get("note") or ""))
