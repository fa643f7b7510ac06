"""One cause, one line: the victims grouped under the polluter set that breaks them, and the
state it leaves when ``isoscan explain`` named it ("`tests/a.py::test_bad_id` breaks 22 tests
(global `factory.id_type`)"). One fix per line; every writer shows these lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from isoscan.model.report import SeedsReport
from isoscan.model.verdicts import Verdict
from isoscan.report.writers.common import bisect_answer, polluter_sets, unstable_sorted

_GROUPED = (Verdict.ORDER_DEPENDENT, Verdict.PARALLEL_ONLY)


@dataclass
class Cause:
    polluters: list[str]  # a set that breaks them together (usually one test)
    victims: list[str] = field(default_factory=list)
    state: str = ""  # what it leaves, as explain named it; "" when not known
    swept: bool = False  # its sweep ran before every candidate within the bound

    @property
    def text(self) -> str:
        who = " + ".join(f"`{p}`" for p in self.polluters)
        count = len(self.victims)
        line = f"{who} breaks {count} test{'' if count == 1 else 's'}"
        return f"{line} ({self.state})" if self.state else line

    def to_json(self) -> dict[str, Any]:
        return {"polluters": self.polluters, "state": self.state or None,
                "victims": self.victims, "swept": self.swept, "text": self.text}


def causes_of(report: SeedsReport) -> list[Cause]:
    """Each verified polluter set with every victim it breaks, most victims first; a victim
    with two independent sets is under both."""
    causes: dict[tuple[str, ...], Cause] = {}
    for finding in unstable_sorted(report):
        if finding.verdict not in _GROUPED:
            continue
        answer = bisect_answer(report, finding)
        for polluters in polluter_sets(answer):
            cause = causes.setdefault(tuple(polluters), Cause(polluters))
            cause.victims.append(finding.nodeid)
            cause.state = cause.state or str(answer.get("state") or "")
    for sweep in report.sweeps:
        swept = causes.get(tuple(sweep.polluters))
        if swept is not None:
            swept.swept = sweep.complete
            swept.state = swept.state or sweep.state
    return sorted(causes.values(), key=lambda c: (-len(c.victims), c.polluters))
