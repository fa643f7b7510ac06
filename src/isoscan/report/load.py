"""Reports from what is already on disk, as the ``SeedsReport`` a fresh ``seeds`` run returns.

Sources: a store (its latest finished ``seeds`` session, or a session by id), JUnit XML from any
runner, or several of them merged into one matrix (the shards of one CI pipeline). Verdicts a
store confirmed are reused as stored; tests seen only in foreign JUnit, with no order to replay,
are classified from the matrix alone: ``flaky`` if they passed and failed, ``broken`` if they
always failed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from isoscan.errors import ExitCode, IsoscanError, UsageError
from isoscan.model.confidence import Confirmation
from isoscan.model.imports import ImportDependence
from isoscan.model.outcomes import Outcome
from isoscan.model.report import SeedsReport
from isoscan.model.status import Command, RunPurpose, RunStatus, SessionStatus, TextEnum
from isoscan.model.verdicts import Evidence, Finding, NotRun, Replay, Verdict
from isoscan.report.foreign_junit import JUnitRun, ReadRun, is_store, read_run, scan_folder
from isoscan.store.db import DB_NAME, RunRow, SessionRow, Store
from isoscan.store.matrix import Matrix, load_matrix


class SourceKind(TextEnum):
    """What a report source is; the JSON report's ``sources[].kind``."""

    STORE = "store"
    JUNIT = "junit"


JUNIT_ORDER = "junit"  # RunRow.ordering prefix of a run read from foreign JUnit

# When sources disagree about a test, the first of these wins: a verdict confirmed by replays
# beats one that could not be confirmed, and any of them beats "it never failed here".
STRENGTH = [Verdict.ORDER_DEPENDENT, Verdict.BRITTLE, Verdict.PARALLEL_ONLY, Verdict.IMPORT_TIME,
            Verdict.UNCONFIRMED, Verdict.NON_DETERMINISTIC, Verdict.BROKEN, Verdict.FLAKY,
            Verdict.STABLE]


class NothingToReport(IsoscanError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.SUITE)


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    path: Path
    session_id: int | None = None  # STORE: None = the latest finished seeds session
    runs: tuple[JUnitRun, ...] = ()  # JUNIT


@dataclass
class _Part:
    name: str
    report: SeedsReport
    foreign: bool
    rerun_passed: set[str] = field(default_factory=set)


# sources --------------------------------------------------------------------------------------
def resolve_sources(args: Sequence[str], store_dir: Path, merge: bool) -> list[Source]:
    """What each SOURCE argument names; several stores need ``merge``."""
    if not args:
        return [Source(SourceKind.STORE, store_dir)]
    sources: list[Source] = []
    for arg in args:
        sources.extend(_resolve(arg, store_dir))
    sources = list(dict.fromkeys(sources))
    stores = [s for s in sources if s.kind == SourceKind.STORE]
    if not merge and (len(stores) > 1 or (stores and len(stores) < len(sources))):
        raise UsageError(f"{len(sources)} sources include a store: pass --merge to combine "
                         "several stores or JUnit artifacts into one report")
    return sources


def _resolve(arg: str, store_dir: Path) -> list[Source]:
    path = Path(arg)
    if not path.exists():
        if arg.isdigit():
            return [Source(SourceKind.STORE, store_dir, session_id=int(arg))]
        raise UsageError(f"not found: {arg} (give a store folder, a session id, "
                         "or JUnit XML files or folders)")
    if path.is_file():
        if path.name == DB_NAME:
            return [Source(SourceKind.STORE, path.parent)]
        return [Source(SourceKind.JUNIT, path, runs=(JUnitRun(str(path), (path,)),))]
    if is_store(path):
        return [Source(SourceKind.STORE, path)]
    stores, runs = scan_folder(path)
    found = [Source(SourceKind.STORE, s) for s in stores]
    if runs or not stores:
        found.append(Source(SourceKind.JUNIT, path, runs=tuple(runs)))
    return found


# loading --------------------------------------------------------------------------------------
def load_report(sources: Sequence[Source],
                on_error: Callable[[str], None] = lambda line: None) -> SeedsReport:
    """One report from all sources; ``on_error`` gets one line per source or file skipped.

    Raises ``NothingToReport`` (exit 3) when nothing readable is left.
    """
    parts: list[_Part] = []
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


def _load_source(source: Source, on_error: Callable[[str], None]) -> _Part | None:
    if source.kind == SourceKind.STORE:
        report = load_store_report(source.path, source.session_id)
        return _Part(str(source.path), report, foreign=False)
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
    return _Part("", junit_report(read, source.path), foreign=True, rerun_passed=rerun)


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
            findings.append(Finding(nodeid, known, evidence_from_json(evidence)))
            raw[nodeid] = dict(evidence)
        return SeedsReport(
            session_id=session.id, matrix=matrix, findings=findings,
            seconds=_session_seconds(store, session),
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
    row = store.db.execute(
        "SELECT id FROM sessions WHERE command = ? AND status IN (?, ?) ORDER BY id DESC LIMIT 1",
        (Command.SEEDS, SessionStatus.DONE, SessionStatus.INTERRUPTED)).fetchone()
    found = store.session(int(row[0])) if row else None
    if found is None:
        raise NothingToReport(f"{root}: no finished 'isoscan seeds' session in this store")
    return found


def _session_seconds(store: Store, session: SessionRow) -> float:
    row = store.db.execute("SELECT finished FROM sessions WHERE id = ?", (session.id,)).fetchone()
    finished = row[0] if row and row[0] is not None else session.started
    return max(0.0, float(finished) - session.started)


def _verdict(text: str) -> Verdict | None:
    try:
        return Verdict(text)
    except ValueError:
        return None  # written by a newer isoscan: not ours to judge


def evidence_from_json(data: Mapping[str, Any]) -> Evidence:
    """Evidence back from its stored JSON; unknown keys are ignored, missing ones default."""
    return Evidence(
        failed_runs=_ints(data.get("failed_runs")),
        passed_runs=_ints(data.get("passed_runs")),
        alone=_strs(data.get("alone")),
        failing_order=_replay(data.get("failing_order")),
        passing_order=_replay(data.get("passing_order")),
        concurrent=_strs(data.get("concurrent")),
        note=str(data.get("note") or ""),
        alone_in_module=_strs(data.get("alone_in_module")),
        import_time=ImportDependence.from_json(data.get("import_time")),
        confirmation=Confirmation.from_json(data.get("confirmation")),
        unconfirmed=NotRun.from_json(data.get("unconfirmed")),
        also_parallel_only=_replay(data.get("also_parallel_only")),
    )


def _replay(data: object) -> Replay | None:
    if not isinstance(data, Mapping):
        return None
    run_id, seed = data.get("run_id"), data.get("seed")
    return Replay(run_id=run_id if isinstance(run_id, int) else 0,
                  process=str(data.get("process") or ""), prefix=_strs(data.get("prefix")),
                  seed=seed if isinstance(seed, int) else None,
                  outcomes=_strs(data.get("outcomes")))


def _ints(value: object) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _strs(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# foreign JUnit --------------------------------------------------------------------------------
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


# merging --------------------------------------------------------------------------------------
def combine(parts: Sequence[_Part]) -> SeedsReport:
    """One matrix across all parts (runs renumbered 1…N in order), verdicts combined."""
    runs: list[RunRow] = []
    matrix = Matrix(runs=runs)
    labels: dict[int, str] = {}
    foreign: set[int] = set()
    candidates: dict[str, list[tuple[Finding, dict[str, Any]]]] = {}
    for part in parts:
        remap: dict[int, int] = {}
        for run in part.report.matrix.runs:
            new_id = len(runs) + 1
            remap[run.id] = new_id
            runs.append(replace(run, id=new_id))
            label = part.report.run_labels.get(run.id) or run.label
            labels[new_id] = f"{part.name}: {label}" if part.name and len(parts) > 1 else label
            if part.foreign:
                foreign.add(new_id)
        for nodeid in part.report.matrix.tests:
            if nodeid not in matrix.cells:
                matrix.tests.append(nodeid)
                matrix.cells[nodeid] = {}
            for old, outcome in part.report.matrix.cells[nodeid].items():
                if old in remap:
                    matrix.cells[nodeid][remap[old]] = outcome
        for finding in part.report.findings:
            raw = part.report.evidence_json.get(finding.nodeid) or finding.evidence.to_json()
            candidates.setdefault(finding.nodeid, []).append((finding, remap_evidence(raw, remap)))
    rerun = set().union(*(p.rerun_passed for p in parts))
    findings: list[Finding] = []
    evidence: dict[str, dict[str, Any]] = {}
    for nodeid in matrix.tests:
        if nodeid in candidates:
            best = min(candidates[nodeid], key=lambda c: STRENGTH.index(c[0].verdict))
            finding, raw = _rebased(best[0].verdict, best[1], nodeid, matrix)
            evidence[nodeid] = raw
        else:
            classified = classify_from_matrix(nodeid, matrix, foreign, nodeid in rerun)
            if classified is None:
                continue
            finding = classified
        findings.append(finding)
    return SeedsReport(
        session_id=0, matrix=matrix, findings=findings,
        seconds=sum(p.report.seconds for p in parts), trials=sum(p.report.trials for p in parts),
        planned=sum(p.report.planned for p in parts),
        interrupted=any(p.report.interrupted for p in parts), evidence_json=evidence,
        run_labels=labels, sources=[s for p in parts for s in p.report.sources],
        pairs=[pair for p in parts for pair in p.report.pairs],
    )


def remap_evidence(raw: Mapping[str, Any], remap: Mapping[int, int]) -> dict[str, Any]:
    """Stored evidence with run ids renumbered into the merged matrix (other keys untouched)."""
    data = copy.deepcopy(dict(raw))
    for key in ("failed_runs", "passed_runs"):
        if isinstance(data.get(key), list):
            data[key] = [remap[r] for r in data[key] if isinstance(r, int) and r in remap]
    for key in ("failing_order", "passing_order"):
        replay = data.get(key)
        if isinstance(replay, dict) and replay.get("run_id") in remap:
            replay["run_id"] = remap[replay["run_id"]]
    return data


def _rebased(verdict: Verdict, raw: dict[str, Any], nodeid: str,
             matrix: Matrix) -> tuple[Finding, dict[str, Any]]:
    # Where it failed and passed is re-read from the merged matrix: every shard's runs count.
    raw["failed_runs"] = [r.id for r in matrix.failed_runs(nodeid)]
    raw["passed_runs"] = [r.id for r in matrix.passed_runs(nodeid)]
    if verdict is Verdict.BROKEN and raw["passed_runs"]:
        verdict = Verdict.FLAKY
        raw["note"] = "failed in every run of one source but passed in another"
    return Finding(nodeid, verdict, evidence_from_json(raw)), raw


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
