"""Whether a starting order makes the victim misbehave every time: the stated rule of
``model/confidence.py`` over replays of the order and runs of the victim alone, ending at the
first result that disagrees (the same rule ``isoscan seeds`` gives its verdicts by)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from isoscan.bisect.context import Bisection
from isoscan.bisect.probe import BisectObserver, Probe
from isoscan.bisect.starting_order import StartingOrder
from isoscan.model.confidence import Confirmation, Decision, Rule, Side
from isoscan.search.shrink import Holds
from isoscan.trials.base import TrialRunner
from isoscan.trials.scan import ScanStop


class Reproduction(str, Enum):
    """Whether a starting order makes the victim misbehave again here."""

    YES = "yes"
    NO = "no"
    NON_DETERMINISTIC = "non-deterministic"


def reproduces(b: Bisection, start: StartingOrder, probe: Probe, stop: ScanStop) -> Reproduction:
    """Whether the order reproduces: yes, no (it never did here), or non-deterministic. After
    a first replay that misbehaves, the stated rule decides (``check_order``); an order that
    ``seeds`` confirmed by that rule already is not checked again."""
    if start.confirmed:
        return Reproduction.YES
    holds = probe.holds(stop)
    first = holds(start.prefix)
    b.step(f"replay of the starting order: {says(first)}")
    if not first:
        if start.observed and start.workers == 0:
            return Reproduction.NON_DETERMINISTIC
        return Reproduction.NO
    probe.confirmation = check_order(start.prefix, holds, b.config.rule, b.trials, b.observer,
                                     "retry of the starting order")
    return (Reproduction.YES if probe.confirmation.contradicted_by is None
            else Reproduction.NON_DETERMINISTIC)


def says(reproduced: bool) -> str:
    return "reproduces" if reproduced else "does not reproduce"


def check_order(prefix: Sequence[str], holds: Holds, rule: Rule, trials: TrialRunner,
                observer: BisectObserver, what: str) -> Confirmation:
    """After a first replay of ``prefix`` in which the victim misbehaved (``holds``), replays
    it and runs the victim alone (``holds([])`` must not hold) by the rule. The bisect's first
    run alone, which told a victim from a brittle test, counts as one result alone."""
    check = Confirmation(rule, misbehaved=1, behaved=1)
    check.settle(lambda: holds(prefix), lambda: not holds([]))
    observer.step(trials.count, f"{what}: {describe(check)}")
    return check


def describe(check: Confirmation) -> str:
    if check.decision is Decision.CONTRADICTED:
        what = ("it behaved in a replay of the order" if check.contradicted_by is Side.ORDER
                else "it misbehaved alone")
        return f"does not reproduce every time: {what} ({check.summary()})"
    if check.decision is Decision.CAPPED:
        return f"reproduces, short of the bound asked ({check.summary()})"
    return f"reproduces ({check.summary()})"
