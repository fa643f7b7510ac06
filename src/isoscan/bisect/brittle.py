"""A brittle test (it fails alone): find an order in which it passes, then its state-setters."""

from __future__ import annotations

from isoscan.bisect.context import Bisection
from isoscan.bisect.repro_files import add_reproduce
from isoscan.bisect.reproduction import Reproduction, reproduces
from isoscan.bisect.scan import scanned
from isoscan.bisect.sets import only_slow, shrink_sets
from isoscan.bisect.starting_order import cold_starts, explicit_start
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.trials.scan import ScanStop


def bisect_brittle(b: Bisection) -> BisectResult:
    victim, config = b.victim, b.config
    explicit = explicit_start(b.store, victim, failed=False, given=config.start,
                              order_file=config.order_file, run_id=config.run_id)
    starts = [explicit] if explicit is not None else cold_starts(b.collected, victim)
    for start in starts:
        b.step(f"it fails alone; looking for a state-setter in: {start.source}, "
               f"{len(start.prefix)} tests")
        probe = b.probe(start.seed)
        found_cut = scanned(b, start, probe, ScanStop.PASSES)
        cut = found_cut if isinstance(found_cut, list) else None
        verdict = Reproduction.YES if cut is not None else (
            found_cut or reproduces(b, start, probe, ScanStop.PASSES))
        if verdict is Reproduction.NON_DETERMINISTIC:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=start.source,
                                note="the same order passed and then failed; not bisected")
        if verdict is not Reproduction.YES:
            continue
        found = shrink_sets(b, start.prefix, probe.passes, "state-setter", cut)
        if found is None:
            return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=start.source,
                                note="no state-setter survived verification")
        sets, _, _ = found
        again = b.probe(start.seed)
        alone = again.outcome([])
        b.step(f"verify: victim alone {alone.value}")
        if not alone.is_failure:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=start.source,
                                note="it passed alone on a second run")
        slow = only_slow(b, again, [])
        if slow is not None:
            return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=start.source,
                                note=slow)
        result = BisectResult(victim, BisectKind.BRITTLE, source=start.source,
                              left_out=[*start.left_out, *probe.left_out],
                              state_setters=[t for s in sets for t in s],
                              confirmation=probe.confirmation)
        add_reproduce(result, config, sets, start.seed)
        return result
    return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=starts[-1].source,
                        note="it fails alone and in every order tried")
