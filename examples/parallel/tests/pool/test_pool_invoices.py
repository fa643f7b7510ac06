from __future__ import annotations

import time

from demoapp import pool

CHECKS = 6
INTERVAL = 0.1


def test_pool_invoices_collection_is_private() -> None:
    # Takes a collection from the pool and expects to be its only user. The pool's
    # round-robin counter is per process, so a test on another xdist worker taking its first
    # collection at the same time gets the same one (c0).
    collection = pool.acquire()
    marker = collection / "test_pool_invoices_collection_is_private"
    marker.write_text("invoices")
    try:
        for _ in range(CHECKS):
            time.sleep(INTERVAL)
            assert sorted(p.name for p in collection.iterdir()) == [marker.name]
    finally:
        # Even when the assertion fails, so a serial run never leaves a marker behind.
        marker.unlink(missing_ok=True)
