"""Building pytest command lines so that isoscan's plan, not the user's addopts, decides the order.

pytest reads ini ``addopts`` first and the command line after it, and for ``-p``, ``-n`` and
``--randomly-seed`` the last word wins; so the plan's options go last.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from isoscan.model.status import OrderingKind

# Last on every command line isoscan runs. A user's -x / --maxfail in addopts would cut the run
# short and leave cells empty. pytest's long and short tracebacks re-read and re-parse the source
# of every frame: seconds per run when many tests fail deep inside a big module (pykicad's
# failures in pyparsing), and isoscan keeps only each failure's one-line message.
RUN_TAIL = ("--maxfail=0", "--tb=native", "-q")

# Without a seed, pytest-randomly stays loaded but neither shuffles nor reseeds: blocking it
# (-p no:randomly) would make a user's `--randomly-seed=...` in addopts an unknown option.
UNSEEDED = ("-p", "randomly", "--randomly-dont-reorganize", "--randomly-dont-reset-seed")


# On every pytest command line isoscan runs: a suite whose ini records every run (the
# ``isoscan_record`` option, for CI) must not get isoscan's own runs in that folder; they record
# where isoscan says, or nowhere.
NO_INI_RECORD = ("-o", "isoscan_record=")


def cache_args(workdir: Path) -> list[str]:
    """A private, empty pytest cache: a user's --lf / --ff in addopts then select and order
    nothing, and the user's own .pytest_cache is left alone. (Disabling the cache provider
    would make those options unknown instead.)"""
    return ["-o", f"cache_dir={workdir / '.pytest_cache'}"]


@dataclass(frozen=True)
class Suite:
    """What every run of one suite shares: where it runs and what the user passed to pytest."""

    paths: tuple[str, ...] = ()
    pytest_args: tuple[str, ...] = ()
    cwd: Path = field(default_factory=Path.cwd)
    python: str = sys.executable
    timeout: float | None = None  # per test, through pytest-timeout


@dataclass(frozen=True)
class Ordering:
    kind: OrderingKind
    seed: int | None = None  # pytest-randomly seed; for EXPLICIT, the seed context of the original


def ordering_args(ordering: Ordering, order_file: Path | None) -> list[str]:
    if ordering.kind == OrderingKind.RANDOM:
        return ["-p", "randomly", f"--randomly-seed={ordering.seed}"]
    args: list[str] = []
    from_file = ordering.kind in (OrderingKind.EXPLICIT, OrderingKind.PLANNED)
    if from_file and ordering.seed is not None:
        # Same per-test reseeding of `random` as the original run, without reshuffling.
        args += ["-p", "randomly", f"--randomly-seed={ordering.seed}", "--randomly-dont-reorganize"]
    else:
        args += UNSEEDED
    if ordering.kind == OrderingKind.REVERSED:
        args.append("--isoscan-reverse")
    if from_file:
        if order_file is None:
            raise ValueError("an explicit ordering needs an order file")
        args.append(f"--isoscan-order={order_file}")
    return args


def pytest_argv(
    suite: Suite,
    ordering: Ordering,
    workers: int,
    *,
    record_dir: Path | None,
    junit_path: Path | None = None,
    order_file: Path | None = None,
    timeouts_file: Path | None = None,
) -> list[str]:
    """``timeouts_file``: per-test early bounds (``timeouts.py``), with ``suite.timeout``."""
    argv = [suite.python, "-m", "pytest", *suite.paths, *suite.pytest_args]
    argv += ["-p", "isoscan.plugin", *NO_INI_RECORD]
    if record_dir is not None:
        # isoscan's own recorded runs also rewrite asserts on a second core (``prerewrite.py``).
        argv += [f"--isoscan-record={record_dir}", "--isoscan-prerewrite"]
    if junit_path is not None:
        # Exact node ids in the JUnit XML isoscan reads back (classname/name lose them).
        argv += [f"--junitxml={junit_path}", "--isoscan-junit-ids"]
    argv += ordering_args(ordering, order_file)
    argv += ["-p", "xdist", "-n", str(workers)]
    if suite.timeout:
        argv += ["-p", "timeout", f"--timeout={suite.timeout:g}", "--timeout-method=signal"]
        if timeouts_file is not None:
            argv.append(f"--isoscan-timeouts={timeouts_file}")
    argv += RUN_TAIL
    if record_dir is not None:
        argv += cache_args(record_dir.parent)
    return argv


def reproduce_command(suite: Suite, ordering: Ordering, order_file: Path) -> str:
    """A command a person can paste: plain pytest plus isoscan's plugin, in the exact order."""
    argv = ["python", "-m", "pytest", *suite.paths, *suite.pytest_args, "-p", "isoscan.plugin"]
    argv += ordering_args(ordering, order_file)
    argv += ["-p", "xdist", "-n", "0", "--maxfail=0"]
    if suite.timeout:
        argv += ["-p", "timeout", f"--timeout={suite.timeout:g}"]
    return shlex.join(argv)
