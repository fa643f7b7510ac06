from __future__ import annotations

import time

from demoapp import audit

# How long the export's rows stay in the shared log.
HOLD_SECONDS = 0.6


def test_export_writes_audit_rows() -> None:
    # Writes its events, keeps them while "exporting", then deletes exactly its own rows:
    # it never leaves anything behind, but while it runs the rows are visible to every
    # process using the shared log.
    conn = audit.open_log()
    try:
        ids = audit.write_events(conn, ["export started", "batch 1", "export finished"])
        try:
            time.sleep(HOLD_SECONDS)
        finally:
            audit.delete_rows(conn, ids)
    finally:
        conn.close()
