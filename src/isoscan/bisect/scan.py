"""With fork trials, one scan of the starting order instead of replaying all of it: the victim is
checked at checkpoints along the order in one trial (``trials/fork/scan_chain.py``), so the
shortest part of the order after which it misbehaves is known before any search."""

from __future__ import annotations

from collections.abc import Callable

from isoscan.bisect.context import Bisection
from isoscan.bisect.probe import Probe
from isoscan.bisect.reproduction import Reproduction, check_order, says
from isoscan.bisect.starting_order import StartingOrder
from isoscan.model.outcomes import Outcome
from isoscan.trials.scan import ScanStop

SCAN_MIN = 16  # a shorter starting order is replayed whole, not scanned


def scanned(b: Bisection, start: StartingOrder, probe: Probe,
            stop: ScanStop) -> list[str] | Reproduction | None:
    """The shortest part of the order after which the victim misbehaves, once fresh trials of
    that part agree by the stated rule; NON_DETERMINISTIC when they disagree; NO when the scan
    ran the whole order and the victim never misbehaved (an order never seen failing); None to
    replay the order as usual."""
    holds = probe.holds(stop)
    if start.confirmed or len(start.prefix) < SCAN_MIN:
        return None
    if start.workers > 0:
        return None  # an xdist worker's order: its plain replay tells whether it is parallel-only
    misbehaves = _misbehaves(stop)
    result = b.trials.scan(start.prefix, b.victim, start.seed, stop=stop)
    if result is None:
        return None
    cut = result.first(misbehaves)
    if cut is None:
        whole = result.trial.outcome_of(b.victim)
        b.step(f"scan of the starting order: {says(False)} ({len(result.checks)} checkpoints)")
        return Reproduction.NO if whole.ran and not start.observed else None
    b.step(f"scan of the starting order: {_verb(stop)} after its first {cut} of "
           f"{len(start.prefix)} tests")
    part = start.prefix[:cut]
    again = holds(part)
    if not again:
        b.step(f"retry of those {cut} tests in a fresh trial: {says(again)}")
        return None
    probe.confirmation = check_order(part, holds, b.config.rule, b.trials, b.observer,
                                     f"retry of those {cut} tests in fresh trials")
    if probe.confirmation.contradicted_by is not None:
        return Reproduction.NON_DETERMINISTIC
    # The victim behaved after the checkpoint before: a lone culprit is in between.
    good = result.last_good(misbehaves, cut)
    if good and cut - good < len(part) // 2 and holds(part[good:]):
        b.step(f"tests {good + 1} to {cut} of the order are enough alone")
        return part[good:]
    return part


def _misbehaves(stop: ScanStop) -> Callable[[Outcome], bool]:
    if stop is ScanStop.FAILS:
        return lambda outcome: outcome.is_failure
    return lambda outcome: not outcome.is_failure


def _verb(stop: ScanStop) -> str:
    return "fails" if stop is ScanStop.FAILS else "passes"
