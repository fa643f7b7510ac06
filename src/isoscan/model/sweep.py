"""What a polluter sweep found and what it cost: a known polluter run right before each other
test that could read what it leaves (``seeds/sweep.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The stated bound on a sweep's test time: each other test once (a full run's worth), the
# polluter before each (up to another), and what each trial's fresh process adds (session
# fixtures, the first test's setup) together at most SWEEP_RUNS full runs' worth of test
# time (a full run being the session's first serial run, its test durations summed), and
# never less than SWEEP_FLOOR seconds, so a suite of millisecond tests is not cut off by
# timing noise. The sweep stops before a trial that would pass it.
SWEEP_RUNS = 3.0
SWEEP_FLOOR = 1.0


@dataclass
class Sweep:
    polluters: list[str]  # the polluter set run before each candidate (usually one test)
    seed: int | None  # pytest-randomly seed context of the trials
    state: str = ""  # what it leaves, as explain names it ("global `pkg.mod.flag`"), if known
    known: list[str] = field(default_factory=list)  # its victims known before the sweep
    victims: list[str] = field(default_factory=list)  # new victims, each confirmed by the rule
    unconfirmed: list[str] = field(default_factory=list)  # failed after it; the rule disagreed
    candidates: int = 0  # tests it could run before
    swept: int = 0  # tests it ran before, within the bound
    trials: int = 0  # sweep trials (one per swept test), confirmation trials apart
    confirm_trials: int = 0
    test_seconds: float = 0.0  # summed test time of the sweep trials
    full_run_seconds: float = 0.0  # test time of one full serial run (0: none known)
    budget_seconds: float = 0.0
    seconds: float = 0.0  # wall time, confirmations included

    @property
    def complete(self) -> bool:
        return self.swept == self.candidates

    @property
    def runs_spent(self) -> float | None:
        """The sweep's test time in full runs' worth, when a full run's time is known."""
        return self.test_seconds / self.full_run_seconds if self.full_run_seconds else None

    def describe(self) -> str:
        """One line: what was swept, what it found and what it cost against the bound."""
        who = " + ".join(self.polluters)
        spent = self.runs_spent
        if spent is not None and SWEEP_RUNS * self.full_run_seconds >= SWEEP_FLOOR:
            cost = (f"{self.test_seconds:.2f}s of test time ({spent:.2f} full runs; bound "
                    f"{self.budget_seconds:.2f}s)")
        elif spent is not None:  # the floor is the bound: a ratio to tiny runs says little
            cost = (f"{self.test_seconds:.2f}s of test time (bound: the {SWEEP_FLOOR:g}s "
                    f"floor; a full run's tests take {self.full_run_seconds:.3f}s)")
        else:
            cost = f"{self.test_seconds:.2f}s of test time (bound {self.budget_seconds:.2f}s)"
        left = "" if self.complete else \
            f"; {self.candidates - self.swept} tests left unswept at the bound"
        found = f"{len(self.victims)} new victim{'' if len(self.victims) == 1 else 's'}"
        if self.unconfirmed:
            found += f", {len(self.unconfirmed)} failed once but not by the rule"
        return (f"swept {who} before {self.swept} of {self.candidates} tests: {found}; "
                f"{self.trials} trials + {self.confirm_trials} to confirm, {cost}{left}")

    def to_json(self) -> dict[str, Any]:
        return {
            "polluters": self.polluters,
            "seed": self.seed,
            "state": self.state or None,
            "known_victims": self.known,
            "new_victims": self.victims,
            "unconfirmed": self.unconfirmed,
            "candidates": self.candidates,
            "swept": self.swept,
            "complete": self.complete,
            "trials": self.trials,
            "confirm_trials": self.confirm_trials,
            "test_seconds": round(self.test_seconds, 4),
            "full_run_seconds": round(self.full_run_seconds, 4),
            "budget_seconds": round(self.budget_seconds, 4),
            "full_runs_spent": None if self.runs_spent is None else round(self.runs_spent, 3),
            "seconds": round(self.seconds, 3),
            "text": self.describe(),
        }
