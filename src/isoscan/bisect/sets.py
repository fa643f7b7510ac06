"""Independent minimal sets in an order that reproduces: each shrunk (``search/shrink``) and
verified with a fresh trial, until the rest of the order no longer makes the victim misbehave."""

from __future__ import annotations

from isoscan.bisect.context import Bisection
from isoscan.bisect.probe import Probe
from isoscan.search.shrink import MAX_SETS, Holds, Shrinker


def shrink_sets(b: Bisection, prefix: list[str], holds: Holds, role: str,
                first: list[str] | None = None) -> tuple[list[list[str]], bool, int] | None:
    """Independent minimal sets in ``prefix``, each verified. The bool says whether the rest
    of the prefix was tried without them; the int, how many tests of that rest still made the
    victim misbehave when the search stopped (at MAX_SETS, or finding no further set).
    ``first``, a part of the prefix known to be enough on its own (a scan's cut), is where the
    first set is looked for; the rest of the whole prefix is then checked as usual, unless
    ``--first``."""
    sets: list[list[str]] = []
    remaining = list(prefix)
    while remaining and len(sets) < MAX_SETS:
        pool = first if first is not None and not sets else remaining
        candidate = _verified(b, Shrinker(pool, holds), pool, holds, role)
        if candidate is None and pool is first:
            # The scan's cut did not hold up in fresh trials: search the whole order instead.
            b.step("nothing verified in the scan's cut; searching the whole order")
            first = None
            continue
        if candidate is None:
            return None if not sets else (sets, True, len(remaining))
        sets.append(candidate)
        remaining = [t for t in remaining if t not in candidate]
        if not remaining or b.config.first_only:
            return sets, False, 0
        more = holds(remaining)
        b.step(f"the other {len(remaining)} tests without it: "
               f"{'still misbehaves, looking for another set' if more else 'clean'}")
        if not more:
            return sets, True, 0
    return (sets, True, len(remaining)) if sets else None


def _verified(b: Bisection, shrinker: Shrinker, pool: list[str], holds: Holds,
              role: str) -> list[str] | None:
    for careful in (False, True):
        candidate = shrinker.shrink(pool, careful)
        b.step(f"{'careful' if careful else 'binary'} search: {role} candidate "
               f"{', '.join(candidate)}")
        if holds(candidate):  # a fresh trial, not the cache
            b.step(f"verified: {role} set of {len(candidate)}")
            return candidate
        b.step("verification failed; searching carefully")
    return None


def only_slow(b: Bisection, probe: Probe, before: list[str]) -> str | None:
    """An answer that rests on the victim being stopped at its early bound is confirmed once
    with its whole --timeout: None when it fails that way too, else why there is no answer."""
    if not probe.stopped_early:
        return None
    full = probe.outcome_full(before)
    b.step(f"with its full --timeout{' after them' if before else ' alone'}: {full.value}")
    if full.is_failure:
        return None
    return ("it only ran past its early bound (slow, not hung): with the full --timeout it "
            "passes, so nothing is blamed")
