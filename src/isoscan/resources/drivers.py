"""The driver captures, installed together: each patches its library once, when that library
has been imported (a test that never imports redis pays nothing for redis). A library first
imported in the middle of a test (inside a fixture) is patched as soon as its import ends,
through a finder on ``sys.meta_path``, so its first test is seen too."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from .http_capture import install as install_http
from .redis_capture import install as install_redis
from .sql_capture import install as install_sql

# The modules whose import makes a capture possible.
_WATCHED = frozenset({"redis.client", "psycopg", "psycopg2", "sqlalchemy.engine",
                      "sqlalchemy", "httpx", "http.client"})


def install_drivers() -> None:
    install_sql()
    install_redis()
    install_http()


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it wraps the real loader of a watched module so the captures are
    installed once that module has run."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            loader = spec.loader
            if loader is not None and hasattr(loader, "exec_module"):
                spec.loader = _Loader(loader)
            return spec
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        try:
            install_drivers()
        except Exception:
            return  # a capture that cannot install leaves the test's import alone

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


_finder = _PatchAfterImport()


def watch_imports() -> None:
    """Puts the finder first on ``sys.meta_path`` (once)."""
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
