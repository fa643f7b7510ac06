"""Reading JUnit XML (pytest's, and any other runner's) into per-test outcomes.

Parsing goes through defusedxml, so entity-expansion bombs and external entities are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from isoscan.errors import IsoscanError
from isoscan.execution import records
from isoscan.execution.records import NODEID_PROPERTY
from isoscan.model.outcomes import Outcome

if TYPE_CHECKING:
    from junitparser import JUnitXml, TestCase, TestSuite

_CRASH = re.compile(r"worker '?[\w-]+'? crashed while running")
# pytest's junitxml records an INTERNALERROR (a plugin's or xdist's own failure) as a testcase
# with classname "pytest" and name "internal".
INTERNAL_ERROR_CASE = "pytest::internal"


@dataclass(frozen=True)
class CaseResult:
    nodeid: str
    outcome: Outcome
    duration: float
    message: str


class JUnitReadError(IsoscanError):
    pass


def read_junit(path: Path, known_ids: Iterable[str] = ()) -> dict[str, CaseResult]:
    """Outcomes by node id. ``known_ids`` map foreign classname/name pairs back to node ids."""
    # Imported here: junitparser's import costs ~20 ms that every command would pay first.
    import defusedxml.ElementTree as safe_etree
    from junitparser import JUnitXml, TestCase

    try:
        xml = JUnitXml.fromfile(str(path), parse_func=safe_etree.parse)
    except Exception as exc:  # defusedxml, expat and junitparser raise a variety
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise JUnitReadError(f"{path}: not readable JUnit XML ({reason})") from exc
    lookup = _mangled_lookup(known_ids)
    results: dict[str, CaseResult] = {}
    for suite in _suites(xml):
        for case in suite.iterchildren(TestCase):  # type: ignore[no-untyped-call]
            if not (case.name or case.classname):
                continue  # pytest writes an empty <testcase/> when a test raises Ctrl-C
            result = _case_result(case, lookup)
            if result.nodeid == INTERNAL_ERROR_CASE:
                continue  # the run's INTERNALERROR, not a test: its exit code (3) says so
            previous = results.get(result.nodeid)
            if previous is None or _worse(result.outcome, previous.outcome):
                results[result.nodeid] = result
    return results


def _suites(xml: JUnitXml) -> list[TestSuite]:
    # Nested <testsuite> elements occur in some runners' output; flatten them.
    from junitparser import TestSuite

    found: list[TestSuite] = []
    pending: list[TestSuite] = list(xml)
    while pending:
        suite = pending.pop(0)
        found.append(suite)
        pending.extend(suite.iterchildren(TestSuite))  # type: ignore[no-untyped-call]
    return found


def _case_result(case: TestCase, lookup: dict[tuple[str, str], str]) -> CaseResult:
    nodeid = _property_nodeid(case)
    classname = case.classname or ""
    name = case.name or ""
    if nodeid is None:
        nodeid = lookup.get((classname, name)) or (f"{classname}::{name}" if classname else name)
    outcome, message = _outcome(case)
    return CaseResult(nodeid, outcome, float(case.time or 0.0), message)


def _property_nodeid(case: TestCase) -> str | None:
    from junitparser import Properties

    properties = case.child(Properties)  # type: ignore[no-untyped-call]
    if properties is None:
        return None
    for prop in properties:
        if prop.name == NODEID_PROPERTY and prop.value:
            return str(prop.value)
    return None


def _outcome(case: TestCase) -> tuple[Outcome, str]:
    from junitparser import Error, Failure, Skipped

    worst = Outcome.PASSED
    message = ""
    for result in case.result:
        text = (result.message or "").strip()
        if isinstance(result, Failure):
            if _CRASH.search(text):
                outcome = Outcome.CRASHED
            elif records.is_timeout_message(text):
                outcome = Outcome.TIMEOUT
            else:
                outcome = Outcome.FAILED
        elif isinstance(result, Error):
            if _CRASH.search(text) or _CRASH.search(result.text or ""):
                outcome = Outcome.CRASHED  # xdist reports a dead worker's test as an error
            elif records.is_timeout_message(text):
                outcome = Outcome.TIMEOUT
            else:
                outcome = Outcome.ERROR
        elif isinstance(result, Skipped):
            outcome = Outcome.SKIPPED
        else:
            continue
        if _worse(outcome, worst):
            worst, message = outcome, text.splitlines()[0][:300] if text else ""
    return worst, message


def _worse(a: Outcome, b: Outcome) -> bool:
    return records.severity(a) > records.severity(b)


def mangle(nodeid: str) -> tuple[str, str]:
    """The (classname, name) pytest's junitxml writes for a node id."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _mangled_lookup(known_ids: Iterable[str]) -> dict[tuple[str, str], str]:
    return {mangle(nodeid): nodeid for nodeid in known_ids}
