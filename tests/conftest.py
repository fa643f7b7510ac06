from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ACCEPTANCE = Path(__file__).parent / "acceptance"


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
