"""Option parsing shared by commands: paths, --store, --timeout, --fail-on, pytest args."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from isoscan.console import console, to_stderr
from isoscan.errors import UsageError
from isoscan.execution.argv import Suite
from isoscan.execution.timeouts import DEFAULT_TIMEOUT
from isoscan.model.confidence import DEFAULT_CAP, DEFAULT_CONFIDENCE, Rule
from isoscan.model.status import Command
from isoscan.model.verdicts import DEFAULT_FAIL_ON, Verdict
from isoscan.store.db import Store

F = TypeVar("F", bound=Callable[..., Any])

FAIL_ON_CHOICES = [v.value for v in Verdict if v is not Verdict.STABLE]
DEFAULT_STORE = Path(".isoscan")


def store_option(help_text: str) -> Callable[[F], F]:
    """``--store DIR`` (into ``store_dir``), the same default for every command."""
    return click.option("--store", "store_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=DEFAULT_STORE, show_default=True, help=help_text)


def timeout_option(help_text: str = "Per-test timeout in seconds; 0 disables it.",
                   default: float | None = DEFAULT_TIMEOUT) -> Callable[[F], F]:
    """``--timeout SECONDS`` for the commands that run tests; ``default`` None: the command
    works one out itself (``bisect``: the session it starts from)."""
    return click.option("--timeout", type=click.FloatRange(min=0), default=default,
                        show_default=default is not None, help=help_text)


def confidence_option() -> Callable[[F], F]:
    """``--confidence``: the stated rule's bound for verdicts that blame the order."""
    return click.option(
        "--confidence", type=click.FloatRange(min=0.5, max=0.99999), default=DEFAULT_CONFIDENCE,
        show_default=True,
        help="How sure a verdict that blames the order must be: an order is replayed, and the "
             "test run alone, until a test failing at random (at any rate) would give the same "
             "results with a chance of at most 1 - CONFIDENCE; the first result that disagrees "
             "ends it (see README, Known limits).")


def confirmation_rule(confidence: float, replays: int = DEFAULT_CAP) -> Rule:
    """The rule for ``--confidence`` and ``--replays``; a cap too low to reach the confidence
    is kept (the old fixed count, say) with a note: verdicts then state the bound they reach."""
    rule = Rule(confidence, replays)
    if not rule.reachable():
        order, alone = rule.needed()
        console.print(f"note: --confidence {confidence:g} needs {max(order, alone)} replays of "
                      f"an order when they all agree, --replays allows {replays}: verdicts will "
                      "state the weaker bound they reach", style="yellow")
    return rule


def check_paths(paths: tuple[str, ...], cwd: Path) -> None:
    """Each path (or node id: path::name) must exist, so pytest is not started for nothing."""
    for raw in paths:
        if raw.startswith("-"):
            raise UsageError(f"{raw!r} looks like a pytest option: put pytest options after --")
        target = raw.split("::", 1)[0]
        if not (cwd / target).exists():
            raise UsageError(f"path not found: {target}")


def parse_fail_on(text: str | None) -> frozenset[Verdict]:
    if text is None:
        return DEFAULT_FAIL_ON
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in FAIL_ON_CHOICES]
    if unknown:
        raise UsageError(
            f"--fail-on: unknown kind {unknown[0]!r}; choose from {', '.join(FAIL_ON_CHOICES)}"
        )
    return frozenset(Verdict(k) for k in kinds)


def pytest_args() -> tuple[str, ...]:
    obj = click.get_current_context().find_root().obj
    return tuple(obj.get("pytest_args", [])) if isinstance(obj, dict) else ()


def begin_command(paths: tuple[str, ...], json_target: str | None) -> None:
    """What every command checks first: its paths exist; with ``--json -`` the JSON owns
    stdout and human output moves to stderr."""
    check_paths(paths, Path.cwd())
    if json_target == "-":
        to_stderr()


def suite_of(paths: tuple[str, ...], timeout: float) -> Suite:
    """The suite as given: PATHS, the pytest args after ``--``, this directory."""
    return Suite(paths=paths, pytest_args=pytest_args(), cwd=Path.cwd(), timeout=timeout or None)


def suite_for(store: Store, paths: tuple[str, ...], timeout: float) -> Suite:
    """The suite a follow-up command (bisect, explain) runs: the given PATHS and pytest args, or
    else those of the latest `isoscan seeds` session started from this directory."""
    suite = suite_of(paths, timeout)
    if not suite.paths and not suite.pytest_args:
        session = store.latest_session(Command.SEEDS)
        if session is not None and Path(session.cwd) == suite.cwd:
            return Suite(paths=tuple(session.paths), pytest_args=tuple(session.pytest_args),
                         cwd=suite.cwd, timeout=suite.timeout)
    return suite
