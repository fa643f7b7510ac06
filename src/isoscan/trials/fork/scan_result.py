"""What a scan (``scan_chain.py``) tells isoscan: the victim's outcome at each checkpoint, read
from the scan's ``scan.jsonl`` and each checkpoint's record folder."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from isoscan.execution import records
from isoscan.model.outcomes import Outcome
from isoscan.trials.fork.protocol import TrialRequest, checkpoint_dir, scan_log
from isoscan.trials.outcome import TrialOutcome


@dataclass(frozen=True)
class Check:
    before: int  # tests of the order run before the victim
    outcome: Outcome  # the victim's; NOT_RUN when its checkpoint died before it finished


@dataclass
class ScanResult:
    trial: TrialOutcome  # the scan's own child: the order, and the victim at its end if reached
    checks: list[Check] = field(default_factory=list)  # by ``before``, the full order's last

    def last_good(self, misbehaves: Callable[[Outcome], bool], before: int) -> int:
        """The most tests, fewer than ``before``, after which the victim ran and behaved."""
        return max((c.before for c in self.checks if c.before < before and c.outcome.ran
                    and not misbehaves(c.outcome)), default=0)

    def first(self, misbehaves: Callable[[Outcome], bool]) -> int | None:
        """The fewest tests after which the victim misbehaved, or None if it never did."""
        return next((c.before for c in self.checks if c.outcome.ran and misbehaves(c.outcome)),
                    None)


def read_checks(request: TrialRequest, victim: str, trial: TrialOutcome,
                tests: int) -> list[Check]:
    """Every checkpoint the scan forked, then the victim at the end of the order if it ran."""
    forked: list[int] = []
    with contextlib.suppress(OSError):
        for line in scan_log(request).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and isinstance(event.get("fork"), int):
                    forked.append(event["fork"])
    checks = [Check(before, _victim_outcome(request, before, victim)) for before in forked]
    final = trial.outcome_of(victim)
    if final.ran:
        checks.append(Check(tests, final))
    return sorted(checks, key=lambda check: check.before)


def _victim_outcome(request: TrialRequest, before: int, victim: str) -> Outcome:
    for process in records.read_record_dir(checkpoint_dir(request, before) / "records"):
        for execution in process.executions:
            if execution.nodeid == victim and execution.finished is not None:
                return Outcome(execution.outcome or "passed")
    return Outcome.NOT_RUN
