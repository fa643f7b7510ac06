"""Health check that hard-exits the process in maintenance mode.

Bug source: maintenance mode is a module global, and the check calls
``os._exit`` (no cleanup, no exception) when it is on.
"""

from __future__ import annotations

import os

_maintenance = False


def enter_maintenance() -> None:
    global _maintenance
    _maintenance = True


def check() -> str:
    if _maintenance:
        os._exit(3)
    return "ok"
