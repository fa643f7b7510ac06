"""HTTP endpoints from http.client (isoscan/resources/http_capture.py), through urllib."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from isoscan.resources import Access, ResourceKind, ResourceTracker


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._ok()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._ok()

    def _ok(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


def test_urllib_get_reads_post_writes_path_without_query(server: int) -> None:
    tracker = ResourceTracker()
    tracker.start()
    urllib.request.urlopen(f"http://127.0.0.1:{server}/items?page=2").read()
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{server}/reset",
                                                  data=b"", method="POST")).read()
    found = {(r.name, r.access) for r in tracker.stop() if r.kind is ResourceKind.HTTP}
    assert found == {(f"127.0.0.1:{server}/items", Access.READ),
                     (f"127.0.0.1:{server}/reset", Access.WRITE)}
