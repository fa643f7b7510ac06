"""A victim (it passes alone): find an order in which it fails here, then its polluters. An
xdist worker's order that passes when replayed serially hands over to ``parallel_only``."""

from __future__ import annotations

from isoscan.bisect.context import Bisection
from isoscan.bisect.parallel_only import parallel_only
from isoscan.bisect.polluters import find_polluters
from isoscan.bisect.reproduction import Reproduction, reproduces
from isoscan.bisect.scan import scanned
from isoscan.bisect.starting_order import StartingOrder, cold_starts, faults_left_out
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.trials.scan import ScanStop


def bisect_victim(b: Bisection, explicit: StartingOrder | None) -> BisectResult:
    victim = b.victim
    starts = [explicit] if explicit is not None else cold_starts(b.collected, victim)
    # A test that crashed or hung in the run the order comes from is left out from the start
    # (put back, with the order as it ran, only if the victim passes without it).
    starts = faults_left_out(b.store, starts, victim)
    for start in starts:
        b.step(f"starting order: {start.source}, {len(start.prefix)} tests")
        probe = b.probe(start.seed)
        cut = scanned(b, start, probe, ScanStop.FAILS)
        if isinstance(cut, list):
            return find_polluters(b, start, probe, cut)
        verdict = cut or reproduces(b, start, probe, ScanStop.FAILS)
        if verdict is Reproduction.YES:
            return find_polluters(b, start, probe)
        if verdict is Reproduction.NON_DETERMINISTIC:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=start.source,
                                note="the same order failed and then passed (or it failed "
                                     "alone); not bisected", confirmation=probe.confirmation)
        if start.workers > 0 and start.observed:
            b.step("it failed under xdist and its worker's order replayed serially passes: a "
                   "test on another worker is to blame")
            return parallel_only(b, start)
    given = explicit is not None and not explicit.observed
    note = "the victim passes in the given order" if given else "no order tried makes it fail"
    return BisectResult(victim, BisectKind.NOT_REPRODUCIBLE, source=starts[-1].source, note=note)
