"""``isoscan seeds --track-state`` as a library: tests that leave process state changed, whether
or not a victim failed in the runs (latent polluters).

One extra serial run in collected order, with the snapshot plugin in track mode: each test's
state is diffed against the snapshot taken just before it. What the setup of a session, module
or class fixture changes is the fixture's doing and is listed apart, under the fixture.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from isoscan.errors import SuiteError
from isoscan.execution.argv import Ordering, Suite
from isoscan.execution.runner import RunResult, execute_run
from isoscan.explain.state import snapshot as s
from isoscan.explain.state.base import Change
from isoscan.explain.workflow import PLUGIN, RankedChange, Vocabulary, rank
from isoscan.model.status import OrderingKind

SCHEMA = "isoscan.latent/1"
# A test importing a module for the first time changes sys.modules; that is rarely pollution.
_IGNORED = frozenset({s.SYS_MODULES})


@dataclass(frozen=True)
class LatentPolluter:
    nodeid: str
    changes: list[RankedChange]

    def to_json(self) -> dict[str, Any]:
        return {"nodeid": self.nodeid, "changes": [c.to_json() for c in self.changes]}


@dataclass
class StateTrack:
    polluters: list[LatentPolluter]
    fixture_changes: list[tuple[str, str, Change]] = field(default_factory=list)
    tests: int = 0
    snapshot_seconds: float = 0.0
    seconds: float = 0.0
    run: RunResult | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "tests": self.tests,
            "latent_polluters": [p.to_json() for p in self.polluters],
            "fixture_changes": [{"fixture": f, "first_test": t, **c.to_json(), "line": c.line}
                                for f, t, c in self.fixture_changes],
            "snapshot_seconds": round(self.snapshot_seconds, 3),
            "seconds": round(self.seconds, 3),
        }


def track_state(suite: Suite, workdir: Path, *, exclude: Sequence[Path] = ()) -> StateTrack:
    """Run the suite once, serially, in collected order, snapshotting around every test."""
    started = time.monotonic()
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / "latent.json"
    output.unlink(missing_ok=True)
    spec_path = workdir / "snapshot-spec.json"
    spec = {"mode": "track", "output": str(output), "tmpdir": str(workdir / "tmp"),
            "exclude": [str(workdir), *(str(p.resolve()) for p in exclude)]}
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    args = (*suite.pytest_args, "-p", PLUGIN, f"--isoscan-snapshot={spec_path}")
    run = execute_run(replace(suite, pytest_args=args), Ordering(OrderingKind.COLLECTED), 0,
                      workdir, junit=False, resume=False)
    try:
        document = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        document = {}
    if not document.get("snapshotted"):
        raise SuiteError(f"the state-tracking run did not complete (pytest exit code "
                         f"{run.exit_code})", run.output_tail())
    polluters = []
    for nodeid, entries in document.get("tests", {}).items():
        changes = [c for c in (Change.from_json(e) for e in entries) if c.kind not in _IGNORED]
        if changes:
            polluters.append(LatentPolluter(nodeid, rank(changes, Vocabulary())))
    fixtures = [(str(e["fixture"]), str(e["test"]), Change.from_json(e))
                for e in document.get("fixtures", []) if e.get("kind") not in _IGNORED]
    return StateTrack(polluters, fixtures, len(run.collected),
                      float(document.get("seconds", 0.0)), time.monotonic() - started, run)
