from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ACCEPTANCE = Path(__file__).parent / "acceptance"

# Under `pytest -n 2` (make test) this process is an xdist worker: the pytest runs isoscan starts
# from here must not believe they are workers too, nor take this run's PYTEST_ADDOPTS (already
# read by now). Module-scoped fixtures run before the function-scoped one below, hence here too.
for _name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID",
              "PYTEST_ADDOPTS"):
    os.environ.pop(_name, None)
# xdist workers run with COLUMNS=80, and isoscan's console takes its width when first imported.
os.environ["COLUMNS"] = "200"
# xdist workers ignore SIGINT, and a child inherits an ignored signal: the Ctrl-C tests' isoscan
# processes would never hear theirs.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything in tests/acceptance/ is an end-to-end run of the isoscan command.
    for item in items:
        if item.path.is_relative_to(ACCEPTANCE):
            item.add_marker(pytest.mark.acceptance)


@pytest.fixture(autouse=True)
def _plain_output(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stable, uncoloured, wide-enough output for assertions on what isoscan prints.
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    from isoscan.console import console

    monkeypatch.setattr(console, "width", 200)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    os.environ.pop("PYTEST_XDIST_WORKER", None)
