import sqlite3
import time


def test_record_login_events(shared_dir):
    db = sqlite3.connect(shared_dir / "events.sqlite")
    db.execute("CREATE TABLE IF NOT EXISTS events (kind TEXT)")
    db.execute("INSERT INTO events VALUES ('login')")
    db.commit()
    time.sleep(0.2)
    assert db.execute("SELECT count(*) FROM events WHERE kind = 'login'").fetchone()[0] >= 1
    db.close()
