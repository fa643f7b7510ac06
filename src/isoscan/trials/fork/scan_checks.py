"""Reading a fork scan's checkpoints back: the victim's outcome at each checkpoint, from the
scan's ``scan.jsonl`` and each checkpoint's record folder (``scan_chain.py`` writes them)."""

from __future__ import annotations

import contextlib
import json

from isoscan.execution import records
from isoscan.model.outcomes import Outcome
from isoscan.trials.fork.protocol import TrialRequest, checkpoint_dir, scan_log
from isoscan.trials.outcome import TrialOutcome
from isoscan.trials.scan import Check


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
