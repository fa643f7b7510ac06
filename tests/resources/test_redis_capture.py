"""Redis keys from redis-py (isoscan/resources/redis_capture.py)."""

from __future__ import annotations

import uuid

from isoscan.resources import Access, ResourceKind, ResourceTracker
from isoscan.resources.redis_capture import keys_of


def test_keys_of_whole_server_and_multi_key_commands() -> None:
    assert keys_of(("FLUSHALL",)) == [("*", Access.WRITE, True)]
    assert keys_of((b"flushdb",)) == [("*", Access.WRITE, False)]
    assert keys_of(("MSET", "a", 1, "b", 2)) == [("a", Access.WRITE, False),
                                                ("b", Access.WRITE, False)]
    assert keys_of(("KEYS", "cart:*")) == [("cart:*", Access.READ, False)]
    assert keys_of(("GET", "x")) == [("x", Access.READ, False)]
    assert keys_of(("PING",)) == []


def test_client_made_before_the_test_tags_keys_with_server_and_db(redis_url: str) -> None:
    url = redis_url
    from urllib.parse import urlsplit

    import redis

    where = urlsplit(url)
    client = redis.Redis(host=where.hostname or "localhost", port=where.port or 6379, db=3)
    client.ping()
    key, kept = f"cap:{uuid.uuid4().hex}", f"cap:{uuid.uuid4().hex}"
    tracker = ResourceTracker()
    tracker.start()
    client.set(key, "1")
    client.delete(key)
    client.set(kept, "1")
    client.get("missing")
    found = {(r.name, r.access, r.label) for r in tracker.stop()
             if r.kind is ResourceKind.REDIS}
    client.delete(kept)
    label = f"{where.hostname}:{where.port}/3"
    assert found == {(key, Access.WRITE, label), (kept, Access.WRITE, label),
                     (kept, Access.LEAVE, label), ("missing", Access.READ, label)}
