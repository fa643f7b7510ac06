"""Exit codes and the one error type every command reports through."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    # The check did not come out clean: order-dependence found (seeds), tests that fail alone
    # (isolate), a collision reproduced (replay); or no answer: nothing to blame (bisect), no
    # state change found (explain). One code, so one name.
    ATTENTION = 1
    USAGE = 2
    SUITE = 3  # the user's suite could not run
    INTERRUPTED = 130


class IsoscanError(Exception):
    """A failure with a one-line message and the exit code it maps to."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail  # e.g. pytest's own output, shown under the message


class UsageError(IsoscanError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


class SuiteError(IsoscanError):
    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message, ExitCode.SUITE, detail)


# pytest's exit codes for a suite that could not run at all (0 and 1 mean the tests ran).
PYTEST_REASONS = {
    2: "pytest was interrupted (often errors during collection)",
    3: "pytest hit an internal error",
    4: "pytest rejected its command line",
    5: "pytest collected no tests",
}


def pytest_reason(exit_code: int) -> str:
    return PYTEST_REASONS.get(exit_code, f"pytest exited with code {exit_code}")
