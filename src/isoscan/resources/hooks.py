"""The hook a conftest.py uses to name resources audit hooks cannot see.

isoscan's plugin adds this module's hookspec (``pluginmanager.add_hookspecs(hooks)`` in its
``pytest_addhooks``). A conftest implements it with ``optionalhook=True`` so plain pytest
runs, where the plugin is not loaded, do not reject it::

    @pytest.hookimpl(optionalhook=True)
    def pytest_isoscan_resources(item):
        if "db" in item.fixturenames:
            return [("postgres table", "ledger_entries", "write")]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from .model import Access, Resource, ResourceKind, merged

_ACCESSES = {Access.READ.value: Access.READ, Access.WRITE.value: Access.WRITE}


@pytest.hookspec
def pytest_isoscan_resources(item: pytest.Item) -> Iterable[tuple[str, str, str]] | None:
    """The outside resources ``item`` touches that audit hooks cannot see, e.g. a Postgres
    table reached through libpq: ``(kind, name, access)`` tuples such as
    ``("postgres table", "ledger_entries", "write")``; access is ``"read"`` or ``"write"``.
    Every conftest's answer is used."""


def declared_for(config: pytest.Config, item: pytest.Item) -> list[Resource]:
    """What the conftests that apply to ``item`` declare for it, as DECLARED resources.
    Malformed entries are skipped, and a failing hook gives nothing: explaining a failure
    must not fail the run."""
    # item.ihook reaches only the conftests above the item's own directory.
    relay = getattr(item, "ihook", None) or config.hook
    hook = getattr(relay, "pytest_isoscan_resources", None)
    if hook is None:
        return []
    try:
        answers = hook(item=item)
    except Exception:
        return []
    found: list[Resource] = []
    for answer in answers if isinstance(answers, list) else ():
        found.extend(_entries(answer))
    return merged(found)


def _entries(answer: Any) -> list[Resource]:
    if answer is None or isinstance(answer, (str, bytes)):
        return []
    try:
        entries = list(answer)
    except Exception:
        return []  # not iterable, or an iterator that failed part way
    found = []
    for entry in entries:
        if not isinstance(entry, (tuple, list)) or len(entry) != 3:
            continue
        kind, name, access = entry
        if not (isinstance(kind, str) and isinstance(name, str) and isinstance(access, str)):
            continue
        kind, name = " ".join(kind.split()), name.strip()
        if kind and name and access.strip().lower() in _ACCESSES:
            found.append(
                Resource(ResourceKind.DECLARED, name, _ACCESSES[access.strip().lower()], kind)
            )
    return found
