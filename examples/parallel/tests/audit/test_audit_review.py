from __future__ import annotations

import time

from demoapp import audit

CHECKS = 6
INTERVAL = 0.1


def test_report_sees_no_foreign_rows() -> None:
    # Counts ALL rows (no correlation-id filter) several times over ~0.5 s. Serially the
    # export test has always deleted its rows again; on another xdist worker at the same
    # time, its rows are right there.
    conn = audit.open_log()
    try:
        for _ in range(CHECKS):
            assert audit.count_all(conn) == 0
            time.sleep(INTERVAL)
    finally:
        conn.close()
