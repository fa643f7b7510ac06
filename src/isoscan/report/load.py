"""Reports from what is already on disk, as the ``SeedsReport`` a fresh ``seeds`` run returns:
a store's session with its stored verdicts, or a matrix of foreign JUnit runs; several sources
are merged (``merge.py``) and classified there (``classify.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from isoscan.errors import UsageError
from isoscan.model.matrix import Matrix
from isoscan.model.report import SeedsReport
from isoscan.model.rows import RunRow, SessionRow
from isoscan.model.status import RunPurpose, RunStatus, SessionStatus
from isoscan.model.verdicts import Evidence, Finding, Verdict
from isoscan.report.foreign_junit import ReadRun, is_store, read_run
from isoscan.report.merge import Part, combine
from isoscan.report.sources import NothingToReport, Source, SourceKind
from isoscan.store.db import Store
from isoscan.store.matrix import load_matrix

JUNIT_ORDER = "junit"  # RunRow.ordering prefix of a run read from foreign JUnit


def load_report(sources: Sequence[Source],
                on_error: Callable[[str], None] = lambda line: None) -> SeedsReport:
    """One report from all sources; ``on_error`` gets one line per source or file skipped.

    Raises ``NothingToReport`` (exit 3) when nothing readable is left.
    """
    parts: list[Part] = []
    skipped = 0
    for source in sources:
        try:
            part = _load_source(source, on_error)
        except NothingToReport as exc:
            if len(sources) == 1:
                raise
            on_error(exc.message)
            part = None
        if part is None:
            skipped += 1
        else:
            parts.append(part)
    if not parts:
        raise NothingToReport("nothing readable to report"
                              + (f" from {skipped} source(s)" if skipped > 1 else ""))
    if len(parts) == 1 and not parts[0].foreign:
        return parts[0].report
    return combine(parts)


def _load_source(source: Source, on_error: Callable[[str], None]) -> Part | None:
    if source.kind == SourceKind.STORE:
        report = load_store_report(source.path, source.session_id)
        return Part(str(source.path), report, foreign=False)
    read: list[ReadRun] = []
    for run in source.runs:
        got, run_errors = read_run(run)
        for line in run_errors:
            on_error(line)
        if got is not None:
            read.append(got)
    if not source.runs:
        on_error(f"{source.path}: no JUnit XML files or isoscan store found here")
    if not read:
        return None
    rerun = set().union(*(r.rerun_passed for r in read))
    return Part("", junit_report(read, source.path), foreign=True, rerun_passed=rerun)


def load_store_report(root: Path, session_id: int | None = None) -> SeedsReport:
    """The report ``isoscan seeds`` printed for a session: its matrix and its stored verdicts."""
    if not is_store(root):
        raise NothingToReport(f"no isoscan store at {root} (run 'isoscan seeds' first, "
                              "or name JUnit XML files)")
    store = Store(root)
    try:
        session = _session(store, root, session_id)
        matrix = load_matrix(store, [session.id])
        if not matrix.runs:
            raise NothingToReport(f"{root}: session {session.id} has no completed runs")
        order = {t: n for n, t in enumerate(matrix.tests)}
        findings: list[Finding] = []
        raw: dict[str, dict[str, Any]] = {}
        stored = store.verdicts(session.id)
        for nodeid in sorted(stored, key=lambda t: (order.get(t, len(order)), t)):
            verdict, evidence = stored[nodeid]
            known = _verdict(verdict)
            if known is None:
                continue
            findings.append(Finding(nodeid, known, Evidence.from_json(evidence)))
            raw[nodeid] = dict(evidence)
        return SeedsReport(
            session_id=session.id, matrix=matrix, findings=findings,
            seconds=store.session_seconds(session),
            trials=len(store.runs(session.id, RunPurpose.CONFIRM)),
            planned=len(store.runs(session.id, RunPurpose.PLAN)),
            interrupted=session.status == SessionStatus.INTERRUPTED,
            evidence_json=raw, run_labels={run.id: run.label for run in matrix.runs},
            sources=[{"kind": SourceKind.STORE, "path": str(root), "session": session.id,
                      "git_head": session.git_head}],
        )
    finally:
        store.close()


def _session(store: Store, root: Path, session_id: int | None) -> SessionRow:
    if session_id is not None:
        session = store.session(session_id)
        if session is None:
            raise UsageError(f"no session {session_id} in the store at {root} "
                             "(see 'isoscan history')")
        return session
    found = store.latest_seeds_session()
    if found is None:
        raise NothingToReport(f"{root}: no finished 'isoscan seeds' session in this store")
    return found


def _verdict(text: str) -> Verdict | None:
    try:
        return Verdict(text)
    except ValueError:
        return None  # written by a newer isoscan: not ours to judge


def junit_report(runs: Sequence[ReadRun], path: Path) -> SeedsReport:
    """A matrix of foreign runs: one column per run, no verdicts yet (see ``combine``)."""
    rows: list[RunRow] = []
    matrix = Matrix(runs=rows)
    for number, run in enumerate(runs, start=1):
        failed = any(r.outcome.is_failure for r in run.results.values())
        rows.append(RunRow(id=number, session_id=0, purpose=RunPurpose.PLAN,
                           ordering=f"{JUNIT_ORDER} {run.label}", seed=run.seed, workers=0,
                           status=RunStatus.FAILED if failed else RunStatus.OK, exit_code=None,
                           seconds=run.seconds, dir=run.path))
        for nodeid, result in run.results.items():
            if nodeid not in matrix.cells:
                matrix.tests.append(nodeid)
                matrix.cells[nodeid] = {}
            matrix.cells[nodeid][number] = result.outcome
    return SeedsReport(
        session_id=0, matrix=matrix, findings=[], seconds=sum(r.seconds for r in runs), trials=0,
        planned=len(runs), run_labels={n: r.label for n, r in enumerate(runs, start=1)},
        sources=[{"kind": SourceKind.JUNIT, "path": str(path),
                  "files": [r.label for r in runs]}],
    )
