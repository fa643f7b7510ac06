import sqlite3
import time


def test_report_starts_empty(shared_dir):
    db = sqlite3.connect(shared_dir / "events.sqlite")
    db.execute("CREATE TABLE IF NOT EXISTS events (kind TEXT)")
    db.execute("DELETE FROM events")
    db.commit()
    db.execute("INSERT INTO events VALUES ('report')")
    db.commit()
    time.sleep(0.3)
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    db.execute("DELETE FROM events")
    db.commit()
    db.close()
