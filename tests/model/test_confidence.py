"""The stated rule of model/confidence.py: how sure an order verdict is, and what it costs."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

import pytest

from isoscan.model.confidence import Confirmation, Decision, Rule, Side, bound

ORDER_VERDICT = ("order-dependent", "brittle")


def judged(fails: Callable[[], bool], rule: Rule) -> str:
    """What seeds/confirm.py makes of a test whose every run fails when ``fails()`` says so:
    the first run alone picks the direction, the first replay of the order must agree, then
    the rule replays both sides."""
    if not fails():  # passes alone: is it order-dependent?
        if not fails():
            return "non-deterministic"  # the order it failed in passed on replay
        check = Confirmation(rule, misbehaved=1, behaved=1)
        check.settle(fails, lambda: not fails())
        return "order-dependent" if check.contradicted_by is None else "non-deterministic"
    if fails():  # fails alone: is it brittle?
        return "non-deterministic"  # the order it passed in failed on replay
    check = Confirmation(rule, misbehaved=1, behaved=1)
    check.settle(lambda: not fails(), fails)
    return "brittle" if check.contradicted_by is None else "non-deterministic"


def test_a_test_failing_half_the_time_is_judged_non_deterministic_99_times_in_100() -> None:
    rng = random.Random(20240615)
    verdicts = [judged(lambda: rng.random() < 0.5, Rule()) for _ in range(100)]
    assert verdicts.count("non-deterministic") >= 99, verdicts


def test_the_same_simulations_let_a_weaker_rule_through() -> None:
    """The simulation can tell rules apart: at confidence 0.9 (three results a side at most)
    the same coin gets order verdicts several times in 100."""
    rng = random.Random(20240615)
    verdicts = [judged(lambda: rng.random() < 0.5, Rule(0.9)) for _ in range(100)]
    assert sum(v in ORDER_VERDICT for v in verdicts) > 1


def order_verdict_chance(rule: Rule, rate: float) -> float:
    """Exactly: the chance that a test failing at random at ``rate`` gets an order verdict,
    summed over every path of the rule's decision tree."""

    def settle(check: Confirmation, misbehave: float, behave: float) -> float:
        if check.decision is Decision.CONFIRMED or check.decision is Decision.CAPPED:
            return 1.0
        if check.decision is Decision.CONTRADICTED:
            return 0.0
        side = check.next_side()
        assert side is not None
        agree = misbehave if side is Side.ORDER else behave
        agreed = copy.copy(check)
        agreed.add(side, True)
        return agree * settle(agreed, misbehave, behave)  # disagreeing ends at 0

    start = Confirmation(rule, misbehaved=1, behaved=1)
    order_dependent = (1 - rate) * rate * settle(copy.copy(start), rate, 1 - rate)
    brittle = rate * (1 - rate) * settle(copy.copy(start), 1 - rate, rate)
    return order_dependent + brittle


@pytest.mark.parametrize("confidence", [0.9, 0.99, 0.999])
def test_no_failure_rate_gets_an_order_verdict_more_often_than_stated(
        confidence: float) -> None:
    rule = Rule(confidence)
    worst = max(order_verdict_chance(rule, rate / 100) for rate in range(1, 100))
    assert worst <= rule.alpha
    # Half the time is the worst rate; the rule is not much stricter than it says.
    assert order_verdict_chance(rule, 0.5) == pytest.approx(worst)
    assert worst > rule.alpha / 4


def test_the_old_three_replays_let_a_coin_through_one_time_in_32() -> None:
    three_a_side = Rule(0.95)  # reached at three results a side, as the old --replays 3
    assert three_a_side.needed() == (3, 3)
    assert order_verdict_chance(three_a_side, 0.5) == pytest.approx(1 / 32)
    assert order_verdict_chance(Rule(), 0.5) == pytest.approx(1 / 128)


def test_clear_evidence_stops_early_and_ambiguous_evidence_goes_on_to_the_cap() -> None:
    deterministic = Confirmation(Rule())
    runs: list[Side] = []

    def replay(side: Side) -> Callable[[], bool]:
        def run() -> bool:
            runs.append(side)
            return True
        return run

    assert deterministic.settle(replay(Side.ORDER), replay(Side.ALONE)) is Decision.CONFIRMED
    assert runs.count(Side.ORDER) == 4 and runs.count(Side.ALONE) == 4
    assert deterministic.bound == pytest.approx(2 / 256)

    contradicted = Confirmation(Rule(), misbehaved=1, behaved=1)
    assert contradicted.add(Side.ORDER, False) is Decision.CONTRADICTED
    assert contradicted.settle(replay(Side.ORDER), replay(Side.ALONE)) is Decision.CONTRADICTED
    assert contradicted.order_runs == 2

    capped = Confirmation(Rule(0.999, cap=3))
    assert capped.settle(lambda: True, lambda: True) is Decision.CAPPED
    assert (capped.misbehaved, capped.behaved) == (3, 3)
    assert not capped.met and capped.bound == pytest.approx(1 / 32)


def test_a_collision_may_miss_now_and_then_and_its_misses_count_on_the_quiet_side() -> None:
    outcomes = iter([True, False, True, True, True])
    check = Confirmation(Rule(), every_time=False, behaved=4)
    assert check.settle(lambda: next(outcomes), lambda: True) is Decision.CONFIRMED
    assert (check.misbehaved, check.noise, check.behaved) == (4, 1, 4)
    assert check.bound == pytest.approx(bound(4, 5))
    assert check.bound <= 0.01


def test_the_evidence_round_trips_through_json() -> None:
    check = Confirmation(Rule(0.999, cap=7), misbehaved=3, behaved=2)
    check.add(Side.ALONE, False)
    again = Confirmation.from_json(check.to_json())
    assert again is not None and again.to_json() == check.to_json()
    assert again.decision is Decision.CONTRADICTED and again.contradicted_by is Side.ALONE
    assert Confirmation.from_json({"misbehaved": "many"}) is None
    assert Confirmation.from_json(None) is None


def test_bound_is_twice_the_likeliest_chance() -> None:
    assert bound(0, 0) == 1.0
    assert bound(3, 0) == 1.0  # nothing against a test that always fails
    assert bound(1, 1) == pytest.approx(0.5)
    assert bound(4, 4) == pytest.approx(2 * 0.5**8)
    assert bound(2, 1) == pytest.approx(2 * (2 / 3) ** 2 * (1 / 3))
