import sqlite3
import time


def test_signup_keeps_new_account(shared_dir):
    db = shared_dir / "accounts.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE IF NOT EXISTS accounts (name TEXT)")
        c.execute("INSERT INTO accounts VALUES ('ada')")
    time.sleep(1.5)
    with sqlite3.connect(db) as c:
        names = [r[0] for r in c.execute("SELECT name FROM accounts")]
        c.execute("DELETE FROM accounts WHERE name = 'ada'")
    assert "ada" in names
