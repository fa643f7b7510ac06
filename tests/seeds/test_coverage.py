"""The planner (seeds/coverage.py) gives every test the places its leftovers reach other tests
from: last in its class, and every class the end of its module, in some order; and it is never
worse than pytest-randomly's seeds on the shapes where cleaners sit beside the polluter."""

from __future__ import annotations

from pollution_shapes import make_shape

from isoscan.seeds.coverage import plan_orders
from isoscan.seeds.grouping import module_of, split_nodeid


def shaped_ids() -> list[str]:
    """Three modules, each with classes of 2 to 5 tests and two class-less tests."""
    ids = []
    for m, sizes in enumerate([(4, 2, 5), (3, 4), (5, 3, 2, 4)]):
        for c, size in enumerate(sizes):
            ids += [f"tests/test_m{m}.py::TestC{c}::test_{t}" for t in range(size)]
        ids += [f"tests/test_m{m}.py::test_plain_{t}" for t in range(2)]
    return ids


def container(nodeid: str) -> str:
    return "::".join(split_nodeid(nodeid)[:-1])


def ends(order: list[str], key: object) -> set[str]:
    """The tests that end their group (``key`` of a test) in ``order``."""
    last: dict[object, str] = {}
    for nodeid in order:
        last[key(nodeid)] = nodeid  # type: ignore[operator]
    return set(last.values())


def test_every_test_ends_its_class_and_every_class_ends_its_module() -> None:
    ids = shaped_ids()
    orders = [ids, ids[::-1], *plan_orders(ids, 10, 7)]
    in_classes = {t for t in ids if len(split_nodeid(t)) == 3}
    ended_class = set().union(*(ends(o, container) for o in orders))
    assert in_classes <= ended_class
    ended_module = set().union(*(ends(o, module_of) for o in orders))
    classes_ending = {container(t) for t in ended_module if t in in_classes}
    assert classes_ending == {container(t) for t in in_classes}


def failing(order: list[str], polluter: str, cleaners: set[str], victims: set[str]) -> set[str]:
    """The victims that fail in ``order``: run after the polluter with no cleaner between."""
    dirty, failed = False, set()
    for nodeid in order:
        dirty = (dirty or nodeid == polluter) and nodeid not in cleaners
        if dirty and nodeid in victims:
            failed.add(nodeid)
    return failed


def test_a_polluter_among_cleaning_classmates_shows_a_victim() -> None:
    """The issue's first shape: the polluter sits between classmates that reset its state, so
    the collected and the reversed order show nothing; for every plan seed tried, some order
    of 5 planned ones runs it last in its class with one of its 22 victims after it (the
    sweep then finds the rest)."""
    shape = make_shape("classmates clean", 1)
    ((polluter, victims),) = shape.victims.items()
    assert not failing(shape.ids, polluter, shape.cleaners, victims)
    assert not failing(shape.ids[::-1], polluter, shape.cleaners, victims)
    for plan_seed in range(1, 11):
        orders = plan_orders(shape.ids, 5, plan_seed)
        assert any(failing(o, polluter, shape.cleaners, victims) for o in orders), plan_seed
