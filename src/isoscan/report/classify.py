"""Verdicts across report sources: which one wins when sources disagree, and the verdict of a
test seen only in foreign JUnit, with no order to replay (``flaky`` if it passed and failed,
``broken`` if it always failed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from isoscan.model.matrix import Matrix
from isoscan.model.outcomes import Outcome
from isoscan.model.verdicts import Evidence, Finding, Verdict

# When sources disagree about a test, the first of these wins: a verdict confirmed by replays
# beats one that could not be confirmed, and any of them beats "it never failed here".
STRENGTH = [Verdict.ORDER_DEPENDENT, Verdict.BRITTLE, Verdict.PARALLEL_ONLY, Verdict.IMPORT_TIME,
            Verdict.UNCONFIRMED, Verdict.NON_DETERMINISTIC, Verdict.BROKEN, Verdict.FLAKY,
            Verdict.STABLE]


def strongest(candidates: Sequence[tuple[Finding, dict[str, Any]]]
              ) -> tuple[Finding, dict[str, Any]]:
    return min(candidates, key=lambda c: STRENGTH.index(c[0].verdict))


def rebased(verdict: Verdict, raw: dict[str, Any], nodeid: str,
            matrix: Matrix) -> tuple[Finding, dict[str, Any]]:
    """A source's verdict in the merged matrix: where it failed and passed is re-read from it,
    so every shard's runs count; "broken" that passed in another source is flaky."""
    raw["failed_runs"] = [r.id for r in matrix.failed_runs(nodeid)]
    raw["passed_runs"] = [r.id for r in matrix.passed_runs(nodeid)]
    if verdict is Verdict.BROKEN and raw["passed_runs"]:
        verdict = Verdict.FLAKY
        raw["note"] = "failed in every run of one source but passed in another"
    return Finding(nodeid, verdict, Evidence.from_json(raw)), raw


def classify_from_matrix(nodeid: str, matrix: Matrix, foreign: set[int],
                         rerun_passed: bool = False) -> Finding | None:
    """flaky / broken for a test that failed in a foreign run; None if it never did."""
    failed = [r.id for r in matrix.failed_runs(nodeid)]
    if not rerun_passed and not any(r in foreign for r in failed):
        return None
    passed = [r.id for r in matrix.passed_runs(nodeid)]
    evidence = Evidence(failed_runs=failed, passed_runs=passed)
    if passed:
        evidence.note = ("passed and failed across runs; no recorded order to tell why"
                         if failed else "failed, then passed when the runner retried it")
        return Finding(nodeid, Verdict.FLAKY, evidence)
    ran = [r for r in matrix.runs if matrix.cell(nodeid, r.id) not in (Outcome.NOT_RUN,
                                                                        Outcome.SKIPPED)]
    evidence.note = f"failed in every run it ran in ({len(ran)})"
    return Finding(nodeid, Verdict.BROKEN, evidence)
