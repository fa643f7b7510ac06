"""Collecting the suite's node ids once, in collected order."""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path

from isoscan.errors import SuiteError, UsageError, pytest_reason
from isoscan.execution import records
from isoscan.execution.argv import Ordering, Suite, pytest_argv
from isoscan.execution.process import log_tail, run_pytest
from isoscan.model.status import OrderingKind


def collect_ids(suite: Suite, workdir: Path, *, past_errors: bool = False) -> list[str]:
    """The collected node ids. ``past_errors``: also when pytest went past collection errors
    (``--continue-on-collection-errors``, exit code 1), as a run of the suite would."""
    record_dir = workdir / "records"
    argv = pytest_argv(suite, Ordering(OrderingKind.COLLECTED), 0, record_dir=record_dir)
    argv.append("--collect-only")
    log = workdir / "output.log"
    result = run_pytest(argv, cwd=suite.cwd, log_path=log, record_dir=record_dir,
                        hang_seconds=None)
    for process in records.read_record_dir(record_dir):
        if process.collected is not None and result.exit_code in ((0, 1) if past_errors else (0,)):
            return process.collected
    tail = log_tail(log)
    if result.exit_code == 5:
        raise SuiteError("the suite could not run: pytest collected no tests", tail)
    raise SuiteError(f"the suite could not run: the suite could not be collected "
                     f"({pytest_reason(result.exit_code)})", tail)


def collect_ids_once(suite: Suite, *, past_errors: bool = False) -> list[str]:
    """``collect_ids`` in a scratch folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="isoscan-collect-") as tmp:
        return collect_ids(suite, Path(tmp), past_errors=past_errors)


def require_collected(nodeid: str, collected: list[str], where: str = "") -> None:
    """A one-line usage error, with the closest collected ids, for an id pytest does not have."""
    if nodeid in collected:
        return
    close = difflib.get_close_matches(nodeid, collected, n=3, cutoff=0.5)
    if not close:
        tail = nodeid.rsplit("::", 1)[-1]
        close = [c for c in collected if c.endswith(tail)][:3]
    hint = f"; did you mean: {', '.join(close)}" if close else ""
    raise UsageError(f"{where}test not collected: {nodeid}{hint}")
