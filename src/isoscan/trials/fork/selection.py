"""Picking a request's items from the session the server collected once: by node id, in the
requested order, each collected item used once, and what was asked for but never collected."""

from __future__ import annotations

import pytest


def index_items(items: list[pytest.Item]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    for at, item in enumerate(items):
        positions.setdefault(item.nodeid, []).append(at)
    return positions


def select_items(items: list[pytest.Item], positions: dict[str, list[int]], wanted: list[str]
                 ) -> tuple[list[pytest.Item], list[pytest.Item], list[str]]:
    """The ``Orderer``'s rule on a prebuilt index: each wanted id takes the next item of that
    id not yet taken, an id with none left is missing, every item not taken is deselected."""
    taken: dict[str, int] = {}
    chosen: list[int] = []
    missing: list[str] = []
    for nodeid in wanted:
        at = positions.get(nodeid, [])
        count = taken.get(nodeid, 0)
        if count < len(at):
            chosen.append(at[count])
            taken[nodeid] = count + 1
        else:
            missing.append(nodeid)
    kept = set(chosen)
    deselected = [item for at, item in enumerate(items) if at not in kept]
    return [items[at] for at in chosen], deselected, missing


def select_one(items: list[pytest.Item], positions: dict[str, list[int]], nodeid: str, *,
               deselect: bool = True
               ) -> tuple[list[pytest.Item], list[pytest.Item], list[str]]:
    """``select_items`` for a single wanted id, by slicing rather than an item-by-item loop;
    without ``deselect`` the deselected list is left empty."""
    at = positions.get(nodeid)
    if not at:
        return [], list(items) if deselect else [], [nodeid]
    deselected = items[: at[0]] + items[at[0] + 1 :] if deselect else []
    return [items[at[0]]], deselected, []
