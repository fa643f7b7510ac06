"""A scan: one trial that runs an order and checks the victim at checkpoints along it, so one
trial tells after how many tests of the order the victim starts to misbehave. Only a fork of a
collected session can scan (``fork/scan_chain.py``); these are the types every caller reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from isoscan.model.outcomes import Outcome
from isoscan.trials.outcome import TrialOutcome


class ScanStop(str, Enum):
    """Which victim outcome ends a scan early."""

    FAILS = "fails"  # once the victim fails at a checkpoint (a victim's polluters)
    PASSES = "passes"  # ... once it passes (a brittle test's state-setters)


@dataclass(frozen=True)
class Check:
    before: int  # tests of the order run before the victim
    outcome: Outcome  # the victim's; NOT_RUN when its checkpoint died before it finished


@dataclass
class ScanResult:
    trial: TrialOutcome  # the scan's own child: the order, and the victim at its end if reached
    checks: list[Check] = field(default_factory=list)  # by ``before``, the full order's last

    def last_good(self, misbehaves: Callable[[Outcome], bool], before: int) -> int:
        """The most tests, fewer than ``before``, after which the victim ran and behaved."""
        return max((c.before for c in self.checks if c.before < before and c.outcome.ran
                    and not misbehaves(c.outcome)), default=0)

    def first(self, misbehaves: Callable[[Outcome], bool]) -> int | None:
        """The fewest tests after which the victim misbehaved, or None if it never did."""
        return next((c.before for c in self.checks if c.outcome.ran and misbehaves(c.outcome)),
                    None)
