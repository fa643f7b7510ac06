"""Replaying an exact order (``--isoscan-order FILE``, ``--isoscan-reverse``) and keeping each
class's methods in their collected order while the rest is shuffled
(``--isoscan-keep-class-order``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from isoscan.execution import records

if TYPE_CHECKING:
    from collections.abc import Generator


from isoscan.plugin.names import invocation_path


class Orderer:
    """Puts the collected items in the requested order and deselects the rest."""

    def __init__(self, config: pytest.Config) -> None:
        order_file = config.getoption("isoscan_order")
        self.wanted = (records.read_order_file(invocation_path(config, order_file))
                       if order_file else None)
        self.reverse: bool = config.getoption("isoscan_reverse")
        self.missing: list[str] = []

    # trylast: runs after pytest-randomly and any other reordering plugin, so the order is ours.
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if self.wanted is None:
            items.reverse()
            return
        by_id: dict[str, list[pytest.Item]] = {}
        for item in items:
            by_id.setdefault(item.nodeid, []).append(item)
        chosen: list[pytest.Item] = []
        for nodeid in self.wanted:
            candidates = by_id.get(nodeid)
            if candidates:
                chosen.append(candidates.pop(0))
            else:
                self.missing.append(nodeid)
        kept = {id(item) for item in chosen}
        deselected = [item for item in items if id(item) not in kept]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
        items[:] = chosen

    def pytest_report_header(self) -> str:
        source = "reversed" if self.wanted is None else f"{len(self.wanted)} ids from order file"
        return f"isoscan: order = {source}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.missing:
            terminalreporter.write_line(
                f"isoscan: {len(self.missing)} id(s) in the order file were not collected, "
                f"first: {self.missing[0]}"
            )


class ClassOrder:
    """``--isoscan-keep-class-order``: whatever order pytest-randomly, ``--isoscan-reverse`` or
    an order file makes, each class's methods run in their collected order, in the places the
    class's methods took (for suites whose classes depend on their own method order).
    Registered after pytest-randomly's wrapper and, like it, tryfirst: the outermost wrapper,
    so it sees the collected order first and has the last word after randomly shuffles."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]
                                      ) -> Generator[None, None, None]:
        rank = {id(item): at for at, item in enumerate(items)}  # before anyone reorders
        yield
        places: dict[int, list[int]] = {}
        for at, item in enumerate(items):
            if isinstance(item, pytest.Function) and item.cls is not None \
                    and item.parent is not None:
                places.setdefault(id(item.parent), []).append(at)
        for slots in places.values():
            methods = sorted((items[at] for at in slots), key=lambda i: rank.get(id(i), 0))
            for at, item in zip(slots, methods, strict=True):
                items[at] = item
