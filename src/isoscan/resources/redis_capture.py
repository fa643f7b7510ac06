"""Redis keys each test reads and writes, from redis-py's ``execute_command``.

The client's class is patched, so a client made before the test (once per process, in a
session fixture or at import) is seen too; every key is tagged with the server and db of the
client's connection pool. FLUSHDB is a write of every key of its db (``*``), FLUSHALL of every
key of every db. A key the test makes that did not exist before it, and still exists when it
ends, is left behind (``Access.LEAVE``).
"""

from __future__ import annotations

import sys
from typing import Any

from .active import Collector, current, watch_leftovers
from .model import Access, Resource, ResourceKind

_patched: set[str] = set()

# Commands that only read their keys; every other keyed command counts as a write.
_READS = frozenset({"GET", "MGET", "EXISTS", "TYPE", "TTL", "PTTL", "STRLEN", "GETRANGE", "HGET",
    "HMGET", "HGETALL", "HKEYS", "HVALS", "HLEN", "HEXISTS", "HSTRLEN", "LRANGE", "LLEN",
    "LINDEX", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SRANDMEMBER", "ZRANGE",
    "ZRANGEBYSCORE", "ZREVRANGE", "ZSCORE", "ZCARD", "ZCOUNT", "ZRANK", "ZREVRANK", "XRANGE",
    "XREVRANGE", "XLEN", "DUMP", "OBJECT", "BITCOUNT", "GETBIT", "PFCOUNT", "SUNION", "SINTER",
    "SDIFF"})
# Keyed commands whose every argument is a key.
_ALL_KEYS = frozenset({"DEL", "UNLINK", "EXISTS", "MGET", "TOUCH", "SUNION", "SINTER",
                       "SDIFF", "PFCOUNT", "WATCH"})
_DELETES = frozenset({"DEL", "UNLINK", "GETDEL"})
# Commands with no key that read a whole db, and their pattern argument, if any.
_SCANS = {"KEYS": 0, "SCAN": None, "DBSIZE": None, "RANDOMKEY": None}
# Commands that name no key and touch none: connection and server chatter.
_NO_KEY = frozenset({"PING", "SELECT", "AUTH", "HELLO", "CLIENT", "INFO", "CONFIG", "ECHO",
                     "MULTI", "EXEC", "DISCARD", "UNWATCH", "TIME", "COMMAND", "QUIT",
                     "SCRIPT", "PUBLISH", "SUBSCRIBE", "UNSUBSCRIBE", "MEMORY", "LASTSAVE"})


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def keys_of(args: tuple[Any, ...]) -> list[tuple[str, Access, bool]]:
    """``(key or pattern, access, whole db)`` for one command; ``*`` is every key."""
    if not args:
        return []
    command = _text(args[0]).upper()
    rest = args[1:]
    if command in ("FLUSHDB", "FLUSHALL"):
        return [("*", Access.WRITE, command == "FLUSHALL")]
    if command in _SCANS:
        at = _SCANS[command]
        pattern = "*"
        if at is not None and len(rest) > at:
            pattern = _text(rest[at])
        elif command == "SCAN":
            upper = [_text(a).upper() for a in rest]
            if "MATCH" in upper and upper.index("MATCH") + 1 < len(rest):
                pattern = _text(rest[upper.index("MATCH") + 1])
        return [(pattern, Access.READ, False)]
    if command in _NO_KEY or not rest:
        return []
    access = Access.READ if command in _READS else Access.WRITE
    if command in _ALL_KEYS:
        return [(_text(k), access, False) for k in rest]
    if command in ("MSET", "MSETNX"):
        return [(_text(k), Access.WRITE, False) for k in rest[::2]]
    return [(_text(rest[0]), access, False)]


def _label(client: Any, every_db: bool) -> str:
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return f"{where}/{'*' if every_db else kwargs.get('db', 0)}"


def _seen(client: Any, args: tuple[Any, ...]) -> None:
    tracker = current()
    if tracker is None:
        return
    try:
        command = _text(args[0]).upper() if args else ""
        for key, access, every_db in keys_of(args):
            label = _label(client, every_db)
            tracker.add(ResourceKind.REDIS, key, access, label)
            if access is Access.WRITE and key != "*" and command not in _DELETES:
                _watch_key(tracker, client, key, label)
    except Exception:
        return  # recording must never break the test's own command


def _watch_key(tracker: Collector, client: Any, key: str, label: str) -> None:
    def exists() -> bool:
        return bool(_ORIGINAL["execute_command"](client, "EXISTS", key))

    def left(before: object, after: object) -> Resource | None:
        # A key that was there before the test is not its leftover.
        return Resource(ResourceKind.REDIS, key, Access.LEAVE, label) if after and not before \
            else None

    watch_leftovers(tracker, ("redis", label, key), exists, left)


_ORIGINAL: dict[str, Any] = {}


def install() -> None:
    """Patches redis-py's client classes once, when redis has been imported."""
    module = sys.modules.get("redis.client")
    if module is None or not hasattr(module, "Redis") or "redis" in _patched:
        return
    _patched.add("redis")
    client_class = module.Redis
    original = client_class.execute_command
    _ORIGINAL["execute_command"] = original

    def execute_command(self: Any, *args: Any, **options: Any) -> Any:
        if current() is not None:
            _seen(self, args)
        return original(self, *args, **options)

    client_class.execute_command = execute_command
    pipeline_class = getattr(module, "Pipeline", None)
    if pipeline_class is not None:
        queued = pipeline_class.pipeline_execute_command

        def pipeline_execute_command(self: Any, *args: Any, **options: Any) -> Any:
            if current() is not None:
                _seen(self, args)
            return queued(self, *args, **options)

        pipeline_class.pipeline_execute_command = pipeline_execute_command
        immediate = pipeline_class.immediate_execute_command

        def immediate_execute_command(self: Any, *args: Any, **options: Any) -> Any:
            if current() is not None:
                _seen(self, args)
            return immediate(self, *args, **options)

        pipeline_class.immediate_execute_command = immediate_execute_command
