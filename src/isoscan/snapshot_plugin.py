"""The snapshot plugin under the name users pass to ``-p`` (``-p isoscan.snapshot_plugin``); its
code lives in ``isoscan.explain.plugin``."""

from isoscan.explain.plugin import pytest_addoption, pytest_configure

__all__ = ["pytest_addoption", "pytest_configure"]
