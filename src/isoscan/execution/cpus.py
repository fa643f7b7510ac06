"""How many CPUs isoscan may use: the ones this process may run on (its affinity, as a CI
runner's container or ``taskset`` limits it), not every CPU the machine has."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return max(1, len(affinity(0)))
    return os.cpu_count() or 1
