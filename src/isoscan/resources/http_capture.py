"""HTTP endpoints each test calls: host:port and path, read (GET, HEAD, OPTIONS) or write.

``http.client.HTTPConnection.putrequest`` carries every request urllib, requests (through
urllib3) and http.client itself send; httpx has its own transport, so ``Client.send`` and
``AsyncClient.send`` are patched. The query string is left out: ``/items?page=2`` is the
``/items`` the other test resets.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any
from urllib.parse import urlsplit

from .active import current
from .model import Access, ResourceKind

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_patched: set[str] = set()


def endpoint(host: str, port: int | None, path: str) -> str:
    """``host:port/path``: the name of an HTTP resource."""
    where = f"[{host}]" if ":" in host else host
    path = urlsplit(path).path if "://" in path else path.partition("?")[0]
    return f"{where}:{port or 80}{path or '/'}"


def _seen(method: object, name: str) -> None:
    tracker = current()
    if tracker is None:
        return
    verb = str(method).upper()
    tracker.add(ResourceKind.HTTP, name, Access.READ if verb in _READS else Access.WRITE)


def install() -> None:
    _install_http_client()
    _install_httpx()


def _install_http_client() -> None:
    module = sys.modules.get("http.client")
    if module is None or not hasattr(module, "HTTPConnection") or "http.client" in _patched:
        return
    _patched.add("http.client")
    connection_class = module.HTTPConnection
    original = connection_class.putrequest

    def putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if current() is not None:
            with contextlib.suppress(Exception):
                _seen(method, endpoint(str(self.host), self.port, url))
        return original(self, method, url, *args, **kwargs)

    connection_class.putrequest = putrequest


def _install_httpx() -> None:
    module = sys.modules.get("httpx")
    if module is None or not hasattr(module, "AsyncClient") or "httpx" in _patched:
        return
    _patched.add("httpx")

    def note(request: Any) -> None:
        if current() is None:
            return
        try:
            url = request.url
            _seen(request.method, endpoint(str(url.host), url.port, str(url.path)))
        except Exception:
            return

    sync_send = module.Client.send

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        note(request)
        return sync_send(self, request, *args, **kwargs)

    module.Client.send = send
    async_send = module.AsyncClient.send

    async def asend(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        note(request)
        return await async_send(self, request, *args, **kwargs)

    module.AsyncClient.send = asend
