from __future__ import annotations

from demoapp import ledger


def test_import_leaves_ledger_rows() -> None:
    # Imports two entries into the shared ledger and never removes them.
    conn = ledger.open_ledger()
    try:
        ledger.add_entry(conn, "alice", 1250)
        ledger.add_entry(conn, "bob", -300)
    finally:
        conn.close()
