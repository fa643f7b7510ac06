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

    @property
    def is_failure(self) -> bool:
        return self in FAILURES

    @property
    def ran(self) -> bool:
        return self is not Outcome.NOT_RUN


FAILURES = frozenset({Outcome.FAILED, Outcome.ERROR, Outcome.CRASHED, Outcome.TIMEOUT})
