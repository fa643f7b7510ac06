"""The driver captures, installed together: each patches its library once, when that library
has been imported (a test that never imports redis pays nothing for redis)."""

from __future__ import annotations

from . import http_capture, redis_capture, sql_capture


def install_drivers() -> None:
    sql_capture.install()
    redis_capture.install()
    http_capture.install()
