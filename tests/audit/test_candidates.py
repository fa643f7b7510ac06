"""Candidate pairs from a resource map (isoscan/audit/candidates.py)."""

from __future__ import annotations

from isoscan.audit.candidates import can_meet, class_context, find_candidates
from isoscan.audit.model import Dist
from isoscan.resources import Access, Resource, ResourceKind

K, A = ResourceKind, Access
PG = "postgresql 127.0.0.1:5432/app"
REDIS = "127.0.0.1:6379/0"


def pairs(touched: dict[str, list[Resource]], dist: Dist = Dist.LOAD) -> list[tuple[str, str]]:
    return [(c.first, c.second) for c in find_candidates(touched, dist, list(touched))]


def test_needs_a_change_and_a_match() -> None:
    touched = {
        "a.py::reader": [Resource(K.TABLE, "orders", A.READ, PG)],
        "b.py::reader": [Resource(K.TABLE, "orders", A.READ, PG)],
        "c.py::writer": [Resource(K.TABLE, "orders", A.WRITE, PG)],
        "d.py::other_db": [Resource(K.TABLE, "orders", A.WRITE, "postgresql h:5432/other")],
    }
    assert sorted(pairs(touched)) == [("a.py::reader", "c.py::writer"),
                                      ("b.py::reader", "c.py::writer")]


def test_flushall_matches_every_key_of_the_server_and_ranks_first() -> None:
    touched = {
        "t/a.py::flusher": [Resource(K.REDIS, "*", A.WRITE, "127.0.0.1:6379/*")],
        "t/b.py::cart": [Resource(K.REDIS, "cart:1", A.READ, REDIS)],
        "t/c.py::file_writer": [Resource(K.FILE, "/srv/x.json", A.WRITE)],
        "t/d.py::file_reader": [Resource(K.FILE, "/srv/x.json", A.READ)],
        "t/e.py::other_server": [Resource(K.REDIS, "cart:1", A.READ, "10.0.0.2:6379/0")],
    }
    candidates = find_candidates(touched, Dist.LOAD, list(touched))
    assert [(c.first, c.second) for c in candidates] == [
        ("t/a.py::flusher", "t/b.py::cart"), ("t/c.py::file_writer", "t/d.py::file_reader")]
    assert candidates[0].shared[0].name == "cart:1"


def test_loadfile_never_pairs_tests_of_one_file() -> None:
    touched = {
        "t/a.py::one": [Resource(K.PORT, "127.0.0.1:9000", A.BIND)],
        "t/a.py::two": [Resource(K.PORT, "127.0.0.1:9000", A.BIND)],
        "t/b.py::three": [Resource(K.ENDPOINT, "localhost:9000", A.CONNECT)],
    }
    assert pairs(touched, Dist.LOAD) == [("t/a.py::one", "t/a.py::two"),
                                         ("t/a.py::one", "t/b.py::three"),
                                         ("t/a.py::two", "t/b.py::three")]
    assert pairs(touched, Dist.LOADFILE) == [("t/a.py::one", "t/b.py::three"),
                                             ("t/a.py::two", "t/b.py::three")]


def test_a_class_is_paired_through_its_last_test() -> None:
    db = "/srv/accounts.sqlite"
    touched = {
        "t/a.py::TestAdmin::test_first": [Resource(K.SQLITE, db, A.WRITE)],
        "t/a.py::TestAdmin::test_last": [Resource(K.SQLITE, db, A.WRITE)],
        "t/b.py::test_signup": [Resource(K.SQLITE, db, A.WRITE)],
    }
    assert pairs(touched) == [("t/a.py::TestAdmin::test_last", "t/b.py::test_signup")]
    assert class_context(list(touched)) == {
        "t/a.py::TestAdmin::test_first": (),
        "t/a.py::TestAdmin::test_last": ("t/a.py::TestAdmin::test_first",)}


def test_one_sqlite_file_with_disjoint_tables_is_no_candidate() -> None:
    db = "/srv/app.sqlite"
    label = f"sqlite {db}"
    touched = {
        "t/a.py::entries": [Resource(K.SQLITE, db, A.WRITE),
                            Resource(K.TABLE, "entries", A.WRITE, label)],
        "t/b.py::staging": [Resource(K.SQLITE, db, A.WRITE),
                            Resource(K.TABLE, "staging", A.WRITE, label)],
        "t/c.py::entries_too": [Resource(K.SQLITE, db, A.WRITE),
                                Resource(K.TABLE, "entries", A.READ, label)],
    }
    assert pairs(touched) == [("t/a.py::entries", "t/c.py::entries_too")]


def test_can_meet_is_what_makes_a_pair_whoever_runs_where() -> None:
    sqlite = "sqlite /srv/app.db"
    counts_entries = [Resource(K.SQLITE, "/srv/app.db", A.WRITE),
                      Resource(K.TABLE, "entries", A.READ, sqlite)]
    fills_entries = [Resource(K.SQLITE, "/srv/app.db", A.WRITE),
                     Resource(K.TABLE, "entries", A.WRITE, sqlite)]
    builds_staging = [Resource(K.SQLITE, "/srv/app.db", A.WRITE),
                      Resource(K.TABLE, "staging", A.WRITE, sqlite)]
    assert can_meet(counts_entries, fills_entries)
    # One SQLite file, no table in common: apart, as for candidates.
    assert not can_meet(counts_entries, builds_staging)
    assert not can_meet([Resource(K.TABLE, "orders", A.READ, PG)],
                        [Resource(K.TABLE, "orders", A.READ, PG)])  # two readers
    assert can_meet([Resource(K.REDIS, "*", A.WRITE, "127.0.0.1:6379/*")],
                    [Resource(K.REDIS, "cart:1", A.READ, REDIS)])
    assert not can_meet([Resource(K.PORT, "127.0.0.1:8001", A.BIND)],
                        [Resource(K.PORT, "127.0.0.1:8002", A.BIND)])
