"""Whether a starting order makes the victim misbehave every time: the stated rule of
``model/confidence.py`` over replays of the order and runs of the victim alone, ending at the
first result that disagrees (the same rule ``isoscan seeds`` gives its verdicts by)."""

from __future__ import annotations

from collections.abc import Sequence

from isoscan.bisect.probe import BisectObserver
from isoscan.model.confidence import Confirmation, Decision, Rule, Side
from isoscan.search.shrink import Holds
from isoscan.trials.base import TrialRunner


def check_order(prefix: Sequence[str], holds: Holds, rule: Rule, trials: TrialRunner,
                observer: BisectObserver, what: str) -> Confirmation:
    """After a first replay of ``prefix`` in which the victim misbehaved (``holds``), replays
    it and runs the victim alone (``holds([])`` must not hold) by the rule. The bisect's first
    run alone, which told a victim from a brittle test, counts as one result alone."""
    check = Confirmation(rule, misbehaved=1, behaved=1)
    check.settle(lambda: holds(prefix), lambda: not holds([]))
    observer.step(trials.trials, f"{what}: {describe(check)}")
    return check


def describe(check: Confirmation) -> str:
    if check.decision is Decision.CONTRADICTED:
        what = ("it behaved in a replay of the order" if check.contradicted_by is Side.ORDER
                else "it misbehaved alone")
        return f"does not reproduce every time: {what} ({check.summary()})"
    if check.decision is Decision.CAPPED:
        return f"reproduces, short of the bound asked ({check.summary()})"
    return f"reproduces ({check.summary()})"
