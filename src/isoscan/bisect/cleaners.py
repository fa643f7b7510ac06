"""Cleaners (``bisect --cleaners``): tests that, run between the polluters and the victim, make
it pass. Found by group testing: a group after which the victim passes is split until single
tests remain."""

from __future__ import annotations

from isoscan.bisect.context import Bisection
from isoscan.bisect.probe import Probe

CLEANER_GROUP = 64  # cleaners are looked for in groups of at most this many tests


def find_cleaners(b: Bisection, polluters: list[str], probe: Probe) -> list[str]:
    pool = [t for t in b.collected if t not in polluters and t != probe.victim]
    cleaners: list[str] = []
    pending = [pool[i:i + CLEANER_GROUP] for i in range(0, len(pool), CLEANER_GROUP)]
    while pending:
        group = pending.pop(0)
        if probe.fails([*polluters, *group]):
            continue
        if len(group) == 1:
            cleaners.append(group[0])
            b.step(f"cleaner: {group[0]}")
            continue
        half = len(group) // 2
        pending[:0] = [group[:half], group[half:]]
    return cleaners
