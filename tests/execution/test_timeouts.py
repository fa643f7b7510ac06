"""Early bounds (execution/timeouts.py): when a test that hung before is stopped sooner."""

from __future__ import annotations

from pathlib import Path

import pytest

from isoscan.execution.junit import CaseResult
from isoscan.execution.timeouts import (
    EARLY_FACTOR,
    EARLY_FLOOR,
    EARLY_SWITCH,
    HangBook,
    RunTimeouts,
    hang_limit,
    mark_early,
    read_timeouts,
)
from isoscan.model.outcomes import Outcome

HUNG = "tests/test_h.py::test_hangs"


def result(nodeid: str, outcome: Outcome, seconds: float = 0.0) -> CaseResult:
    return CaseResult(nodeid, outcome, seconds, "")


@pytest.mark.parametrize("timeout", [1.0, EARLY_FLOOR, 3.0, 60.0, 120.0])
@pytest.mark.parametrize("slowest", [None, 0.0, 0.01, 0.5, 2.9, 12.0, 500.0])
def test_the_early_bound_is_never_above_the_timeout(timeout: float,
                                                    slowest: float | None) -> None:
    book = HangBook(timeout, enabled=True)
    if slowest is not None:
        book.learn([result(HUNG, Outcome.PASSED, slowest)])
    book.learn([result(HUNG, Outcome.TIMEOUT)])
    early = book.bound(HUNG)
    if early is not None:
        assert EARLY_FLOOR <= early < timeout
        assert early == max(EARLY_FLOOR, EARLY_FACTOR * (slowest or 0.0))
    else:  # a bound no shorter than the timeout is no bound
        assert max(EARLY_FLOOR, EARLY_FACTOR * (slowest or 0.0)) >= timeout
    limits = book.timeouts()
    assert all(seconds < timeout for seconds in limits.early.values())
    assert limits.of(HUNG) is not None and limits.of(HUNG) <= timeout  # type: ignore[operator]


def test_only_a_full_timeout_earns_a_test_an_early_bound() -> None:
    book = HangBook(60.0, enabled=True)
    book.learn([result(HUNG, Outcome.FAILED), result(HUNG, Outcome.TIMEOUT_EARLY),
                result("t::other", Outcome.CRASHED)])
    assert book.timeouts().early == {}
    book.learn([result(HUNG, Outcome.PASSED, 0.4), result(HUNG, Outcome.TIMEOUT)])
    assert book.timeouts().early == {HUNG: 4.0}
    # The slowest pass counts, whenever it came.
    book.learn([result(HUNG, Outcome.PASSED, 0.8), result(HUNG, Outcome.PASSED, 0.1)])
    assert book.bound(HUNG) == pytest.approx(8.0)
    # A test confirmed with its whole timeout gets none.
    assert book.timeouts(full=[HUNG]).early == {}


def test_early_bounds_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EARLY_SWITCH, "0")
    book = HangBook(60.0)
    book.learn([result(HUNG, Outcome.TIMEOUT)])
    assert book.timeouts().early == {}
    assert HangBook(None, enabled=True).bound(HUNG) is None  # no --timeout, no bound


def test_a_timeout_under_an_early_bound_is_marked_early(tmp_path: Path) -> None:
    results = {HUNG: result(HUNG, Outcome.TIMEOUT), "t::slow": result("t::slow", Outcome.TIMEOUT),
               "t::ok": result("t::ok", Outcome.PASSED)}
    mark_early(results, [HUNG, "t::ok"])
    assert [r.outcome for r in results.values()] == [
        Outcome.TIMEOUT_EARLY, Outcome.TIMEOUT, Outcome.PASSED]
    limits = RunTimeouts(60.0, {HUNG: 2.0})
    assert read_timeouts(limits.write(tmp_path / "t.json")) == {HUNG: 2.0}
    assert limits.hang_limits() == {HUNG: hang_limit(2.0)}
