"""A class that snapshots a shared SQLite file when it starts and writes the snapshot back in
its class-scoped teardown: rows another worker made meanwhile are gone."""

import shutil
import sqlite3
import time

import pytest


@pytest.fixture(scope="class")
def snapshot(shared_dir):
    db = shared_dir / "accounts.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE IF NOT EXISTS accounts (name TEXT)")
    copy = shared_dir / "accounts.snapshot"
    shutil.copyfile(db, copy)
    yield db
    shutil.copyfile(copy, db)  # "restore" the database for the next class
    copy.unlink()


@pytest.mark.usefixtures("snapshot")
class TestAccountsAdmin:
    def test_lists_accounts(self, snapshot):
        with sqlite3.connect(snapshot) as c:
            c.execute("SELECT name FROM accounts").fetchall()
        time.sleep(0.3)

    def test_counts_accounts(self, snapshot):
        with sqlite3.connect(snapshot) as c:
            c.execute("SELECT count(*) FROM accounts").fetchone()
        time.sleep(0.3)
