"""The names the plugin's parts share: ini and stash keys, plugin names, environment
variables, and how a path option given on the command line is read."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from isoscan.execution import records

if TYPE_CHECKING:

    pass

NODEID_PROPERTY = records.NODEID_PROPERTY
RECORD_INI = "isoscan_record"
# The key under which an xdist controller hands its run token to each worker it starts.
RUN_KEY = "isoscan_run"
# Set when this process started the assertion-rewriting helper (``prerewrite.py``).
PREREWRITING = pytest.StashKey[bool]()
PACER = "isoscan-pacer"
# Set by isoscan in a subprocess lane of a concurrent replay: its index in the schedule.
LANE_ENV = "ISOSCAN_LANE"


def record_dir_of(config: pytest.Config) -> Path | None:
    """Where this run records: ``--isoscan-record``, else the ini option ``isoscan_record``
    (relative to the ini file, as a path in an ini file reads), else nowhere."""
    option = config.getoption("isoscan_record")
    if option:
        return invocation_path(config, option)
    value = str(config.getini(RECORD_INI) or "").strip()
    if not value:
        return None
    path = Path(value)
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return path if path.is_absolute() else base / path


def invocation_path(config: pytest.Config, value: str) -> Path:
    """A path option as the user meant it: relative to where pytest was started, even after
    a conftest changed the working directory at import time."""
    path = Path(value)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path
