"""Generated suites shaped like the order-dependence real projects have (issue 24), each with
the exact victims it plants. Shared by the tests and ``benchmarks/planned_vs_random.py``.

Every shape keeps its state in a module ``factory.py`` at the suite's root (``factory.id_type``,
or one attribute per polluter); a victim asserts the default, a polluter sets another value and
never resets it, a cleaner sets the default back.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

INI = "[pytest]\npythonpath = .\n"
POLLUTER_MODULE = "tests/test_b_factory.py"


@dataclass
class Shape:
    """A suite to write: its files, and per polluter the victims it breaks."""

    name: str
    files: dict[str, str]
    victims: dict[str, set[str]] = field(default_factory=dict)  # polluter -> its victims
    globals: list[str] = field(default_factory=list)  # factory attributes (default "int")
    cleaners: set[str] = field(default_factory=set)  # tests that reset every attribute
    tests: list[tuple[str, str]] = field(default_factory=list)  # (file, node id), as defined

    @property
    def ids(self) -> list[str]:
        """The node ids in pytest's collected order: files sorted, tests as defined."""
        return [nodeid for _, nodeid in sorted(self.tests, key=lambda t: t[0])]

    @property
    def all_victims(self) -> set[str]:
        return {v for vs in self.victims.values() for v in vs}

    def write(self, root: Path, work_ms: float = 0.0) -> Path:
        """``work_ms``: every test also takes this long (an autouse fixture standing for the
        work a real test does), so test time means something in a benchmark."""
        root.mkdir(parents=True, exist_ok=True)
        (root / "pytest.ini").write_text(INI)
        if work_ms:
            (root / "conftest.py").write_text(
                "import time\nimport pytest\n\n\n@pytest.fixture(autouse=True)\n"
                f"def _work():\n    time.sleep({work_ms / 1000!r})\n")
        (root / "factory.py").write_text("".join(f"{g} = 'int'\n" for g in self.globals))
        for name, body in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(body))
        return root


def _method(name: str, body: str) -> str:
    return f"    def {name}(self):\n        {body}\n\n"


def _victim_body(attr: str) -> str:
    return f"assert factory.{attr} == 'int'"


def _spread(shape: Shape, rng: random.Random, polluters: dict[str, str], victims_per: int,
            modules: int, classes: int, per_class: int, setup_resets: int = 0,
            plain: int = 2) -> None:
    """Victim modules: ``modules`` modules of ``classes`` classes of ``per_class`` tests plus
    ``plain`` class-less tests; ``victims_per`` victims for each attr's polluter, spread at
    random; ``setup_resets`` classes reset every attr in their setUp (a cleaner for the class
    that follows them too)."""
    slots: list[tuple[int, int, int]] = [(m, c, t) for m in range(modules)
                                         for c in range(classes + 1)
                                         for t in range(per_class if c < classes else plain)]
    rng.shuffle(slots)
    reset_classes = set(rng.sample([(m, c) for m in range(modules) for c in range(classes)],
                                   setup_resets))
    attrs = list(polluters)
    owner: dict[tuple[int, int, int], str] = {}
    for i, attr in enumerate(attrs):
        for slot in slots[i * victims_per:(i + 1) * victims_per]:
            owner[slot] = attr
    for m in range(modules):
        # Module 0 is the polluter's own (its class first); the others sort around it.
        path = POLLUTER_MODULE if m == 0 else f"tests/test_{'a' if m % 2 == 0 else 'c'}_area{m}.py"
        text = shape.files.get(path, "import factory\n\n\n")
        for c in range(classes + 1):
            count = per_class if c < classes else plain
            if c < classes:
                text += f"class TestArea{m}Part{c}:\n"
                if (m, c) in reset_classes:
                    resets = "; ".join(f"factory.{a} = 'int'" for a in attrs)
                    text += f"    def setup_method(self):\n        {resets}\n\n"
            for t in range(count):
                attr = owner.get((m, c, t))
                body = _victim_body(attr) if attr else "assert True"
                name = f"test_{'reads' if attr else 'other'}_{t}"
                if c < classes:
                    text += _method(name, body)
                    nodeid = f"{path}::TestArea{m}Part{c}::{name}"
                else:
                    text += f"def {name}():\n    {body}\n\n\n"
                    nodeid = f"{path}::{name}"
                shape.tests.append((path, nodeid))
                if (m, c) in reset_classes:
                    shape.cleaners.add(nodeid)
                # A victim in a class whose setUp resets the state cannot fail.
                if attr and (m, c) not in reset_classes:
                    shape.victims[polluters[attr]].add(nodeid)
        shape.files[path] = text


def _polluter_module(shape: Shape, attrs: list[str], cleaners: int) -> str:
    """tests/test_b_factory.py: one class holding a polluter per attr and ``cleaners`` tests
    that reset every attr (classmates that clean), one cleaner first, so in the collected and
    the reversed order a cleaner runs right after each polluter."""
    resets = "; ".join(f"factory.{a} = 'int'" for a in attrs)
    members = [(f"test_cleans_{i}", resets) for i in range(cleaners)]
    shape.cleaners |= {f"{POLLUTER_MODULE}::TestFactory::{name}" for name, _ in members}
    for i, attr in enumerate(attrs):
        name = "test_bad_id" if len(attrs) == 1 else f"test_bad_{attr}"
        shape.victims[f"{POLLUTER_MODULE}::TestFactory::{name}"] = set()
        members.insert(min(1 + 2 * i, len(members)), (name, f"factory.{attr} = 'uuid'"))
    shape.tests += [(POLLUTER_MODULE, f"{POLLUTER_MODULE}::TestFactory::{name}")
                    for name, _ in members]
    return "import factory\n\n\nclass TestFactory:\n" + "".join(
        _method(name, body) for name, body in members) + "\n"


def make_shape(name: str, seed: int) -> Shape:
    """One of SHAPES, its victims drawn from ``seed``."""
    rng = random.Random(f"{name}:{seed}")
    if name == "classmates clean":
        attrs, cleaners, setup_resets, victims = ["id_type"], 3, 0, 22
    elif name == "resets in setUp":
        attrs, cleaners, setup_resets, victims = ["id_type"], 1, 4, 14
    elif name == "several polluters":
        attrs, cleaners, setup_resets, victims = ["id_type", "tz", "locale"], 2, 0, 6
    elif name == "victims spread":
        attrs, cleaners, setup_resets, victims = ["id_type"], 1, 0, 8
    else:
        raise ValueError(name)
    shape = Shape(name, {}, globals=list(attrs))
    shape.files[POLLUTER_MODULE] = _polluter_module(shape, attrs, cleaners)
    polluters = dict(zip(attrs, shape.victims, strict=True))
    modules = {"victims spread": 7, "classmates clean": 5}.get(name, 4)
    _spread(shape, rng, polluters, victims, modules=modules, classes=2, per_class=4,
            setup_resets=setup_resets, plain=2 if name != "victims spread" else 1)
    return shape


SHAPES = ("classmates clean", "resets in setUp", "several polluters", "victims spread")
