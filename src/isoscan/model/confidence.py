"""The stated rule every verdict that blames the order rests on: replay until the evidence is
strong enough, stop at the first replay that disagrees, never replay past a cap.

Two sides are replayed. The *order* side is where the test should misbehave (the order it
failed in; for a brittle test, the order it passed in); the *alone* side is where it should
behave (run alone). Against it stands a test that fails at random, at some fixed rate ``p``
whatever ran before it. The chance that such a test gives ``m`` order-side and ``b`` alone-side
results that agree with an order verdict is ``p^m (1-p)^b``; over every ``p`` it is at most
``(m/n)^m (b/n)^b`` with ``n = m + b``. The *bound* is twice that, because a random test can be
judged the other way too (brittle mirrors order-dependent). A verdict is confirmed once the
bound is at most ``1 - confidence``.

The schedule is fixed (the side with fewer agreeing results next, the order side on a tie) and
the first disagreeing result ends it, so a verdict has exactly one path to it: a test failing
at random reaches it with probability at most its bound. At confidence 0.99 that takes four
results a side (bound 2/256, about 0.8%); the fixed three a side of earlier versions let a
test failing half the time through about 1 time in 32 (either way).

A collision between xdist workers need not happen in every concurrent replay, so there the
order side may behave now and then (``every_time=False``): such a result counts on the
behaving side of the bound instead of ending the check; the bound is then that of the counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from isoscan.model.status import TextEnum

DEFAULT_CONFIDENCE = 0.99
DEFAULT_CAP = 10  # results of each side at most: enough for a confidence of 0.99999


class Side(TextEnum):
    ORDER = "order"  # where the test should misbehave
    ALONE = "alone"  # where it should behave


class Decision(TextEnum):
    PENDING = "pending"  # replay more
    CONFIRMED = "confirmed"  # the bound reached 1 - confidence
    CONTRADICTED = "contradicted"  # a result disagreed: the order does not decide the outcome
    CAPPED = "capped"  # every side reached the cap before the bound did


def bound(misbehaved: int, behaved: int) -> float:
    """Twice the largest chance, over every failure rate, that a test failing at random gives
    ``misbehaved`` results one way and ``behaved`` the other (see the module's docstring)."""
    total = misbehaved + behaved
    if total == 0:
        return 1.0
    chance = 1.0
    for count in (misbehaved, behaved):
        if count:
            chance *= math.exp(count * math.log(count / total))
    return min(1.0, 2.0 * chance)


@dataclass(frozen=True)
class Rule:
    confidence: float = DEFAULT_CONFIDENCE
    cap: int = DEFAULT_CAP  # results of each side at most

    @property
    def alpha(self) -> float:
        return 1.0 - self.confidence

    def needed(self) -> tuple[int, int]:
        """(order, alone) results the schedule needs when every result agrees."""
        progress = Confirmation(Rule(self.confidence, cap=1 << 16))
        while progress.decision is Decision.PENDING:
            side = progress.next_side()
            assert side is not None
            progress.add(side, True)
        return progress.misbehaved, progress.behaved

    def reachable(self) -> bool:
        return max(self.needed()) <= self.cap

    def describe(self) -> str:
        order, alone = self.needed()
        return (f"replayed until twice the largest chance that a test failing at random (at "
                f"any rate) gives the same results is at most {self.alpha:.2g} (confidence "
                f"{self.confidence:g}), ending at the first result that disagrees; with every "
                f"result agreeing that is {order} in the order and {alone} alone; at most "
                f"{self.cap} of each")


@dataclass
class Confirmation:
    """The results one check has gathered so far, and what the rule makes of them."""

    rule: Rule = field(default_factory=Rule)
    every_time: bool = True  # False: the order side may behave now and then (collisions)
    misbehaved: int = 0  # order-side results that misbehaved, as the verdict says they do
    behaved: int = 0  # alone-side results that behaved
    noise: int = 0  # order-side results that behaved, where every_time is False
    contradicted_by: Side | None = None

    @property
    def order_runs(self) -> int:
        return self.misbehaved + self.noise + (self.contradicted_by is Side.ORDER)

    @property
    def alone_runs(self) -> int:
        return self.behaved + (self.contradicted_by is Side.ALONE)

    @property
    def bound(self) -> float:
        return bound(self.misbehaved, self.behaved + self.noise)

    @property
    def met(self) -> bool:
        return self.contradicted_by is None and self.bound <= self.rule.alpha

    @property
    def decision(self) -> Decision:
        if self.contradicted_by is not None:
            return Decision.CONTRADICTED
        if self.met:
            return Decision.CONFIRMED
        return Decision.PENDING if self.next_side() is not None else Decision.CAPPED

    def next_side(self) -> Side | None:
        """Which side the schedule replays next; None once both sides reached the cap."""
        order_left = self.order_runs < self.rule.cap
        alone_left = self.alone_runs < self.rule.cap
        if order_left and (self.misbehaved <= self.behaved or not alone_left):
            return Side.ORDER
        return Side.ALONE if alone_left else None

    def add(self, side: Side, as_expected: bool) -> Decision:
        if side is Side.ALONE:
            if as_expected:
                self.behaved += 1
            else:
                self.contradicted_by = self.contradicted_by or Side.ALONE
        elif as_expected:
            self.misbehaved += 1
        elif self.every_time:
            self.contradicted_by = self.contradicted_by or Side.ORDER
        else:
            self.noise += 1
        return self.decision

    def settle(self, order: Callable[[], bool], alone: Callable[[], bool]) -> Decision:
        """Replays by the schedule until the rule decides: ``order()`` says whether the test
        misbehaved in a fresh replay of its order, ``alone()`` whether it behaved alone."""
        while self.decision is Decision.PENDING:
            side = self.next_side()
            assert side is not None  # PENDING means a side is left
            self.add(side, order() if side is Side.ORDER else alone())
        return self.decision

    def summary(self) -> str:
        """``4 of 4 in its order, 4 of 4 alone; bound 0.78%, within the 1% asked``: how many
        results of each side agreed with the verdict, and the bound they reached."""
        counts = (f"{self.misbehaved} of {self.order_runs} in its order, {self.behaved} of "
                  f"{self.alone_runs} alone")
        if self.decision is Decision.CONTRADICTED:
            return f"{counts}; a result disagreed"
        reached = "within" if self.met else "short of"
        return (f"{counts}; bound {_percent(self.bound)}, {reached} the "
                f"{_percent(self.rule.alpha)} asked")

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision.value,
            "misbehaved": self.misbehaved,
            "behaved": self.behaved,
            "noise": self.noise,
            "order_runs": self.order_runs,
            "alone_runs": self.alone_runs,
            "bound": round(self.bound, 6),
            "met": self.met,
            "confidence": self.rule.confidence,
            "cap": self.rule.cap,
            "every_time": self.every_time,
            "contradicted_by": self.contradicted_by.value if self.contradicted_by else None,
        }

    @classmethod
    def from_json(cls, data: object) -> Confirmation | None:
        """Back from ``to_json``; None for anything else (evidence stored before the rule)."""
        if not isinstance(data, Mapping):
            return None
        try:
            rule = Rule(float(data.get("confidence", DEFAULT_CONFIDENCE)),
                        int(data.get("cap", DEFAULT_CAP)))
            against = data.get("contradicted_by")
            return cls(rule, every_time=bool(data.get("every_time", True)),
                       misbehaved=int(data.get("misbehaved", 0)),
                       behaved=int(data.get("behaved", 0)), noise=int(data.get("noise", 0)),
                       contradicted_by=Side(against) if against else None)
        except (TypeError, ValueError):
            return None


def _percent(value: float) -> str:
    return f"{value * 100:.2g}%"
