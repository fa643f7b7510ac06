"""From an order that reproduces to the answer for a victim: its verified polluter sets, the
check that it still passes alone, cleaners on request, and a reproduce command per set."""

from __future__ import annotations

from isoscan.bisect.cleaners import find_cleaners
from isoscan.bisect.context import Bisection
from isoscan.bisect.probe import Probe
from isoscan.bisect.repro_files import add_reproduce
from isoscan.bisect.sets import only_slow, shrink_sets
from isoscan.bisect.starting_order import StartingOrder
from isoscan.model.answer import BisectKind, BisectResult


def find_polluters(b: Bisection, start: StartingOrder, probe: Probe,
                   first: list[str] | None = None) -> BisectResult:
    victim = b.victim
    found = shrink_sets(b, start.prefix, probe.fails, "polluter", first)
    result = BisectResult(victim, BisectKind.VICTIM, source=start.source,
                          left_out=[*start.left_out, *probe.left_out],
                          confirmation=probe.confirmation)
    if found is None:
        result.kind = BisectKind.NOT_REPRODUCIBLE
        result.note = "no polluter set survived verification"
        return result
    sets, checked_rest, left = found
    slow = only_slow(b, probe, sets[0])
    if slow is not None:
        return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=start.source,
                            note=slow, confirmation=probe.confirmation)
    if left:
        result.note = (f"stopped after {len(sets)} independent sets: the other {left} tests "
                       "still make it fail without them")
    elif b.config.first_only:
        result.note = ("stopped at the first verified set (--first): the rest of the order was "
                       "not checked for other independent polluters")
    if not checked_rest:
        alone = b.probe(start.seed).outcome([])
        b.step(f"verify: victim alone {alone.value}")
        if alone.is_failure:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=start.source,
                                note="the victim failed alone on a second run")
    result.polluters = sets
    if b.config.cleaners:
        result.cleaners = find_cleaners(b, sets[0], probe)
    add_reproduce(result, b.config, sets, start.seed)
    return result
