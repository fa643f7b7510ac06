def test_signup_records_an_event(pg, fresh_events):
    # Leaves its row behind: the next CI run starts from a fresh database anyway.
    pg.execute("INSERT INTO audit_events (kind) VALUES ('signup')")
    assert pg.execute("SELECT count(*) FROM audit_events WHERE kind = 'signup'").fetchone()[0] >= 1
