"""Option parsing shared by commands: paths, --fail-on, pytest args."""

from __future__ import annotations

from pathlib import Path

import click

from isoscan.errors import UsageError
from isoscan.verdicts import DEFAULT_FAIL_ON, Verdict

FAIL_ON_CHOICES = [v.value for v in Verdict if v is not Verdict.STABLE]


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
