"""The cell values of the pass/fail matrix."""

from __future__ import annotations

from enum import Enum


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    NOT_RUN = "not-run"
    CRASHED = "crashed"
    TIMEOUT = "timeout"
    # Stopped at its early bound: a test that timed out once already this session is stopped
    # far sooner than --timeout in later runs (``execution/timeouts.py``). A failure, but a
    # verdict resting on it is confirmed once with the full timeout.
    TIMEOUT_EARLY = "timeout-early"

    @property
    def is_failure(self) -> bool:
        return self in FAILURES

    @property
    def ran(self) -> bool:
        return self is not Outcome.NOT_RUN

    @property
    def is_hang(self) -> bool:
        return self in (Outcome.TIMEOUT, Outcome.TIMEOUT_EARLY)


FAILURES = frozenset({Outcome.FAILED, Outcome.ERROR, Outcome.CRASHED, Outcome.TIMEOUT,
                      Outcome.TIMEOUT_EARLY})
