"""What the audit's Markdown and HTML pages say, as plain text in one place; each writer only
marks it up."""

from __future__ import annotations

from dataclasses import dataclass

from isoscan.audit.model import AuditReport, PairStatus
from isoscan.resources import describe_shared

TABLE_HEAD = ("resource", "write", "read", "leave data", "collided (victim ← culprit)")


@dataclass(frozen=True)
class CollisionText:
    victim: str
    culprit: str
    details: list[str]  # the mechanism, what they share, each fix, the rule's counts
    replay: str  # the ``isoscan replay`` command ("" when none)


def summary(report: AuditReport) -> tuple[str, str]:
    """The page's opening sentence, in two parts: the counts, and the collisions found (what
    the page stresses)."""
    return (f"{report.collected} tests, {len(report.touched)} touch an outside resource; "
            f"{len(report.candidates)} candidate pairs; ",
            f"{len(report.collisions)} collisions confirmed")


def collisions(report: AuditReport) -> list[CollisionText]:
    found = []
    for result in report.collisions:
        details = []
        answer = result.parallel
        if answer is not None:
            details.append(f"mechanism: {answer.mechanism.value}")
            details += [shared.text for shared in answer.shared]
            details += [f"fix: {hint}" for hint in answer.hints]
        details.append(result.note)
        found.append(CollisionText(result.victim,
                                   result.polluters[0][0] if result.polluters else "?",
                                   details, result.reproduce or ""))
    return found


def shared_not_seen(report: AuditReport) -> list[tuple[str, str, str]]:
    """(first, second, what they share) of every pair replayed that never collided."""
    return [(c.first, c.second, describe_shared(c.shared[0])) for c in report.candidates
            if c.status is PairStatus.SHARED]
