"""Per-test timeouts: a hang costs its full ``--timeout`` at most once per test per session.

Once a test has run past the full ``--timeout``, later runs and trials of the same session stop
it at an *early bound* instead: ``EARLY_FACTOR`` times its slowest recorded pass, at least
``EARLY_FLOOR``, never above ``--timeout``. Such a stop is ``Outcome.TIMEOUT_EARLY``. A test
that is only slow in some orders can run past its early bound, so a verdict that rests on a
hang is confirmed once with the full timeout (``seeds/confirm.py``, ``bisect/workflow.py``).

The bounds reach pytest as a file of ``{nodeid: seconds}`` (``--isoscan-timeouts``) that the
plugin turns into ``pytest.mark.timeout`` marks (``timeout_marks.py``); the hang watchdog, which
kills what pytest-timeout cannot interrupt, watches each test against its own bound.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from isoscan.execution.junit import CaseResult
from isoscan.model.outcomes import Outcome

DEFAULT_TIMEOUT = 120.0  # --timeout when none is given (and bisect has no session to inherit)
EARLY_FLOOR = 1.0  # seconds: 100x a quick test; one stopped here only by a busy machine is
# confirmed with the full --timeout before any verdict rests on it
EARLY_FACTOR = 10.0  # times the slowest recorded pass
# "0" switches early bounds off: every hang pays the full --timeout (a benchmark's "before").
EARLY_SWITCH = "ISOSCAN_EARLY_TIMEOUTS"


def hang_limit(timeout: float | None) -> float | None:
    """How long a single test may run before the watchdog kills the process group: past
    pytest-timeout's own limit, so that one gets the first chance to fail the test cleanly."""
    return None if not timeout else timeout * 1.5 + 5.0


def early_enabled() -> bool:
    return os.environ.get(EARLY_SWITCH, "1").strip() != "0"


@dataclass(frozen=True)
class RunTimeouts:
    """The timeouts of one run: the suite's ``--timeout``, and early bounds for some tests."""

    default: float | None
    early: Mapping[str, float] = field(default_factory=dict)

    def of(self, nodeid: str) -> float | None:
        return self.early.get(nodeid, self.default)

    def hang_limits(self) -> dict[str, float]:
        """The watchdog's limit for each test with an early bound."""
        limits = {nodeid: hang_limit(seconds) for nodeid, seconds in self.early.items()}
        return {nodeid: limit for nodeid, limit in limits.items() if limit is not None}

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(self.early), ensure_ascii=False), encoding="utf-8")
        return path


def read_timeouts(path: Path) -> dict[str, float]:
    """A timeouts file back as ``{nodeid: seconds}``; entries that are not numbers are skipped."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return {}
    return {str(nodeid): float(seconds) for nodeid, seconds in data.items()
            if isinstance(seconds, (int, float)) and seconds > 0}


def mark_early(results: dict[str, CaseResult], early: Collection[str]) -> None:
    """A test that timed out while it had an early bound stopped early: say so in its cell."""
    for nodeid in early:
        found = results.get(nodeid)
        if found is not None and found.outcome is Outcome.TIMEOUT:
            results[nodeid] = replace(found, outcome=Outcome.TIMEOUT_EARLY)


class HangBook:
    """What one session has learnt about hangs: the tests that ran past the full timeout, and
    each test's slowest pass. Every run and trial of the session is read into it."""

    def __init__(self, timeout: float | None, *, enabled: bool | None = None) -> None:
        self.timeout = timeout or None
        self.enabled = early_enabled() if enabled is None else enabled
        self.timed_out: set[str] = set()
        self.slowest_pass: dict[str, float] = {}

    def learn(self, results: Iterable[CaseResult]) -> None:
        for result in results:
            if result.outcome is Outcome.TIMEOUT:
                self.timed_out.add(result.nodeid)
            elif result.outcome is Outcome.PASSED:
                slowest = self.slowest_pass.get(result.nodeid, 0.0)
                self.slowest_pass[result.nodeid] = max(slowest, result.duration)

    def bound(self, nodeid: str) -> float | None:
        """The early bound of a test that ran past the full timeout; None for any other."""
        if not self.enabled or self.timeout is None or nodeid not in self.timed_out:
            return None
        early = max(EARLY_FLOOR, EARLY_FACTOR * self.slowest_pass.get(nodeid, 0.0))
        return early if early < self.timeout else None

    def timeouts(self, full: Collection[str] = ()) -> RunTimeouts:
        """The next run's timeouts; the tests in ``full`` get the whole ``--timeout``."""
        early = {nodeid: bound for nodeid in sorted(self.timed_out) if nodeid not in full
                 and (bound := self.bound(nodeid)) is not None}
        return RunTimeouts(self.timeout, early)
