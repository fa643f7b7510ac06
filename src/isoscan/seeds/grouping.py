"""The collected node ids as the tree pytest's fixture scopes follow: modules, the classes inside
them, the tests inside those.

A planned order keeps each group contiguous, as pytest-randomly does: a module's (or a class's)
fixtures are then set up once per order, not once per fragment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


def split_nodeid(nodeid: str) -> tuple[str, ...]:
    """``tests/a.py::TestX::test_y[p::q]`` → ``("tests/a.py", "TestX", "test_y[p::q]")``.

    Parameter ids come last and may hold anything, ``::`` and brackets included, so the names
    are split only up to the first ``[`` after the file; the file part ends at the first ``::``
    (pytest itself cannot address a file whose path holds one).
    """
    path, sep, rest = nodeid.partition("::")
    if not sep:
        return (nodeid,)
    bracket = rest.find("[")
    names, params = (rest, "") if bracket < 0 else (rest[:bracket], rest[bracket:])
    parts = names.split("::")
    parts[-1] += params
    return (path, *parts)


def module_of(nodeid: str) -> str:
    return nodeid.partition("::")[0]


@dataclass
class Group:
    """A module, a class, or the whole suite (``key == ()``); ``children`` are groups and
    leaves, a leaf being the test's index in the collected list, in first-collected order."""

    key: tuple[str, ...]
    children: list[Group | int] = field(default_factory=list)


def build_tree(collected: Sequence[str]) -> Group:
    """The suite as nested groups. A module collected in two separate stretches becomes one
    group: a planned order runs it in one piece."""
    root = Group(())
    groups: dict[tuple[str, ...], Group] = {(): root}
    for index, nodeid in enumerate(collected):
        parts = split_nodeid(nodeid)
        parent = root
        for depth in range(1, len(parts)):
            key = parts[:depth]
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key)
                parent.children.append(group)
            parent = group
        parent.children.append(index)
    return root
