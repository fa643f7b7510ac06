from __future__ import annotations

import os
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
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    os.environ.pop("PYTEST_XDIST_WORKER", None)
