"""Which modules a pytest process collects: a test's own module, as a user runs it
(``pytest path/to/test_module.py::test_x``), or that module with some others beside it.

Node ids are relative to pytest's rootdir, command lines to the working directory; the two are
the same folder in most projects but not all, so both are kept. Ids travel as arguments of a
process, never through a shell: pytest resolves ``file.py::Class::test[param]`` itself, brackets,
``::`` and escaped unicode inside the parameters included. Where the installed pytest cannot
resolve an id, the module's path is passed instead and isoscan's ``--isoscan-order`` selects the
exact id (``by_id=False``).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from isoscan.execution.argv import Suite


def module_of(nodeid: str) -> str:
    """The file part of a node id: ``tests/test_a.py`` of ``tests/test_a.py::TestX::test_y``."""
    return nodeid.split("::", 1)[0]


def modules_in_order(nodeids: Sequence[str]) -> list[str]:
    """Each file of the suite once, in the order its first test was collected: the order in
    which a whole-suite run imports them."""
    return list(dict.fromkeys(module_of(n) for n in nodeids))


def find_rootdir(nodeid: str, suite: Suite) -> Path:
    """The folder the node id is relative to: the working directory, one of its parents, or a
    folder of the suite's paths (pytest's rootdir when no ini file fixes it)."""
    module = module_of(nodeid)
    starts = [suite.cwd, *(suite.cwd / module_of(p) for p in suite.paths)]
    for start in starts:
        for folder in (start, *start.parents):
            if (folder / module).is_file():
                return folder
    return suite.cwd


@dataclass(frozen=True)
class Frame:
    """How to collect one victim's own module, alone or beside other test modules."""

    victim: str
    root: Path  # pytest's rootdir: what node ids and module names are relative to
    order: tuple[str, ...]  # the suite's modules in collection order
    by_id: bool = True  # the victim's node id is pytest's argument; else its module's path

    @property
    def module(self) -> str:
        return module_of(self.victim)

    def without_id(self) -> Frame:
        return replace(self, by_id=False)

    def path_arg(self, module: str, cwd: Path) -> str:
        """A module's path as a command-line argument, relative to ``cwd``."""
        path = self.root / module
        try:
            return path.relative_to(cwd).as_posix()
        except ValueError:
            return os.path.relpath(path, cwd).replace(os.sep, "/")

    def args(self, modules: Sequence[str], cwd: Path, *, victim_first: bool = False
             ) -> list[str]:
        """pytest's arguments: the victim (its id, or its module) and ``modules``, in the order
        a whole-suite run collects them, or with the victim's module first."""
        position = {m: i for i, m in enumerate(self.order)}
        chosen = sorted({*modules, self.module}, key=lambda m: position.get(m, len(position)))
        if victim_first:
            chosen = [self.module, *(m for m in chosen if m != self.module)]
        victim_arg = self.path_arg(self.module, cwd)
        if self.by_id:
            victim_arg += self.victim[len(self.module):]
        return [victim_arg if m == self.module else self.path_arg(m, cwd) for m in chosen]

    def suite(self, suite: Suite, modules: Sequence[str] = (), *, victim_first: bool = False
              ) -> Suite:
        """The suite collecting only these modules. ``--rootdir`` keeps node ids as the whole
        suite has them: without an ini file pytest would take the rootdir from the arguments."""
        return replace(suite, paths=tuple(self.args(modules, suite.cwd,
                                                    victim_first=victim_first)),
                       pytest_args=(*suite.pytest_args, f"--rootdir={self.root}"))

    def command(self, suite: Suite, modules: Sequence[str] = (), *, seed: int | None = None
                ) -> str:
        """What a person types: plain pytest on the victim's id, the other modules collected
        but deselected (``--deselect`` takes a node id prefix: ``module.py::``); ``seed``, the
        pytest-randomly seed the comparison was made under."""
        argv = ["python", "-m", "pytest", *self.args(modules, suite.cwd), *suite.pytest_args]
        if seed is not None:
            argv.append(f"--randomly-seed={seed}")
        if not self.by_id:
            # This pytest cannot take the id as an argument: select by the test's name instead.
            argv += ["-k", self.victim.rsplit("::", 1)[-1].split("[", 1)[0]]
        for module in modules:
            argv += ["--deselect", f"{module}::"]
        return shlex.join(argv)
