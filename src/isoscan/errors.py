"""Exit codes and the one error type every command reports through."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FOUND = 1  # order-dependence found (seeds), nothing to blame (bisect)
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
