import time


def test_digest_of_a_fresh_database_is_empty(pg, fresh_events):
    # Counts the whole table while it renders: rows another test leaves show up.
    counts = []
    for _ in range(8):
        counts.append(pg.execute("SELECT count(*) FROM audit_events").fetchone()[0])
        time.sleep(0.05)
    assert counts == [0] * len(counts), counts
