"""What one trial tells: each test's outcome in an exact order, and the run it was stored as."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from isoscan.execution.process import log_tail
from isoscan.model.outcomes import Outcome
from isoscan.model.verdicts import NotRun, NotRunReason

# pytest's closing lines, which say that nothing ran but not why.
_SUMMARY = re.compile(r"^(=+ .* =+|-+|no tests ran in .*|\d+ \w+.* in [\d.]+s.*|=+)$")
_INTERRUPTED = 2  # pytest's exit codes (pytest.ExitCode; pytest is not imported here)
_SESSION_ERRORS = (3, 4)  # internal error, usage error


@dataclass
class TrialOutcome:
    order: list[str]
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    exit_code: int = 0
    run_id: int | None = None
    missing: list[str] = field(default_factory=list)
    # Per test, when it ran (wall-clock start, finish) and, where recorded, what it touched
    # (``Resource.to_json`` entries): a concurrent replay tells from these what overlapped.
    times: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    touched: dict[str, list[list[str]]] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)  # a skip's or failure's message
    logs: list[Path] = field(default_factory=list)  # the pytest output of each process

    def outcome_of(self, nodeid: str) -> Outcome:
        return self.outcomes.get(nodeid, Outcome.NOT_RUN)

    def executed(self) -> bool:
        """Whether any test of the order ran its body (passed or failed; skipped is not)."""
        return any(self.outcome_of(n) not in (Outcome.NOT_RUN, Outcome.SKIPPED)
                   for n in self.order)

    def log_line(self) -> str:
        """The line of the trial's pytest output that says why it ended: the last one that
        is not one of pytest's closing summary lines ("" when there is none)."""
        for log in reversed(self.logs):
            for line in reversed(log_tail(log, 40).splitlines()):
                # "!!!! _pytest.outcomes.Exit: why !!!!" says "Exit: why".
                text = line.strip().strip("!").strip().removeprefix("_pytest.outcomes.")
                if text and not _SUMMARY.match(text):
                    return text[:300]
        return ""

    def not_run(self, nodeid: str, where: str) -> NotRun:
        """Why this trial did not run ``nodeid``, from how its session ended and what it
        printed; ``where`` names the trial ("running it alone", "replaying its order")."""
        line = self.log_line()
        if self.outcome_of(nodeid) is Outcome.SKIPPED:
            reason = NotRunReason.REFUSED
            line = self.messages.get(nodeid) or line
        elif self.exit_code == _INTERRUPTED or line.startswith("Exit:"):
            reason = NotRunReason.REFUSED  # pytest.exit() in a hook or a test
        elif self.exit_code in _SESSION_ERRORS:
            reason = NotRunReason.SESSION_ERROR
        else:
            reason = NotRunReason.NOTHING_RAN
        return NotRun(reason, where, line, self.run_id, self.exit_code)
