"""JUnit XML from any runner (pytest, Ginkgo, Maven Surefire, jest-junit) as runs of a matrix.

A file is one run, with one exception: Maven Surefire writes one ``TEST-<class>.xml`` per test
class, so a folder holding only such files is one run. Files that cannot be read are reported
one line each and skipped; the others still count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element  # only the type; parsing goes through defusedxml

import defusedxml.ElementTree as safe_etree

from isoscan.execution.junit import CaseResult, JUnitReadError, read_junit
from isoscan.execution.records import NODEID_PROPERTY, read_record_dir
from isoscan.store.db import DB_NAME

# Surefire's rerunFailingTestsCount: the test failed, then passed on a rerun within one run.
_RERUN_PASSED = ("flakyFailure", "flakyError")
_SEED_PROPERTIES = ("RandomSeed",)  # Ginkgo randomises spec order with this seed
_NOT_REPORTS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".tox", ".nox",
                ".mypy_cache", ".ruff_cache", ".pytest_cache"}
_REFUSALS = ("EntitiesForbidden", "ExternalReferenceForbidden", "DTDForbidden")


@dataclass(frozen=True)
class JUnitRun:
    """The files of one run, and how it is labelled in reports."""

    label: str
    files: tuple[Path, ...]


@dataclass
class ReadRun:
    label: str
    path: Path
    results: dict[str, CaseResult]
    rerun_passed: set[str] = field(default_factory=set)  # failed, then passed on a retry
    seed: int | None = None  # the runner's own order seed, when it reports one

    @property
    def seconds(self) -> float:
        return sum(r.duration for r in self.results.values())


def is_store(folder: Path) -> bool:
    return (folder / DB_NAME).is_file()


def scan_folder(root: Path) -> tuple[list[Path], list[JUnitRun]]:
    """Stores found under ``root`` (not descended into) and the JUnit runs outside them."""
    stores: list[Path] = []
    runs: list[JUnitRun] = []
    for folder, subdirs, files in _walk(root):
        if is_store(folder):
            stores.append(folder)
            subdirs.clear()
            continue
        xml = sorted(folder / f for f in files if f.lower().endswith(".xml"))
        runs.extend(group_runs(folder, xml))
    return stores, runs


def _walk(root: Path) -> Iterator[tuple[Path, list[str], list[str]]]:
    for folder, subdirs, files in os.walk(root):
        here = Path(folder)
        subdirs[:] = sorted(d for d in subdirs if not _skipped(here / d))
        yield here, subdirs, files


def _skipped(folder: Path) -> bool:
    """Tool and dependency folders (a virtualenv's site-packages holds plenty of XML)."""
    return folder.name in _NOT_REPORTS or (folder / "pyvenv.cfg").is_file()


def group_runs(folder: Path, xml: Sequence[Path]) -> list[JUnitRun]:
    if not xml:
        return []
    if len(xml) > 1 and all(p.name.startswith("TEST-") for p in xml):
        return [JUnitRun(f"{folder}/", tuple(xml))]  # Surefire: one file per class, one run
    return [JUnitRun(str(p), (p,)) for p in xml]


def read_run(run: JUnitRun) -> tuple[ReadRun | None, list[str]]:
    """The run's outcomes (None if no file of it was readable) and one error line per bad file."""
    errors: list[str] = []
    results: dict[str, CaseResult] = {}
    rerun_passed: set[str] = set()
    seeds: set[int] = set()
    for path in run.files:
        known, recorded_seed = recorded_beside(path)
        if recorded_seed is not None:
            seeds.add(recorded_seed)
        try:
            found = {tidy_nodeid(k): _renamed(v) for k, v in read_junit(path, known).items()}
        except JUnitReadError as exc:
            errors.append(_plain(exc.message, path))
            continue
        if not found:
            errors.append(f"{path}: no test cases in this JUnit XML")
            continue
        results.update(found)
        more_reruns, seed = _extras(path)
        rerun_passed |= more_reruns
        if seed is not None:
            seeds.add(seed)
    if not results:
        return None, errors
    path = run.files[0] if len(run.files) == 1 else run.files[0].parent
    seed = seeds.pop() if len(seeds) == 1 else None
    label = run.label if seed is None else f"{run.label} (seed {seed})"
    return ReadRun(label, path, results, rerun_passed & set(results), seed), errors


def recorded_beside(path: Path) -> tuple[list[str], int | None]:
    """The node ids and pytest-randomly seed that isoscan's records beside a JUnit file name
    (``pytest -p isoscan.plugin --isoscan-record=DIR --junitxml=DIR/junit.xml``): the file's
    classname/name pairs map back to exact node ids through them."""
    try:
        processes = read_record_dir(path.parent)
    except (KeyError, TypeError, ValueError):  # a damaged record: the JUnit XML still reads
        return [], None
    ids = list(dict.fromkeys(i for p in processes for i in (p.collected or ())))
    seeds = {p.seed for p in processes if p.seed is not None}
    return ids, seeds.pop() if len(seeds) == 1 else None


def _plain(message: str, path: Path) -> str:
    """defusedxml's refusals, in words."""
    if any(word in message for word in _REFUSALS):
        return (f"{path}: refused: it declares XML entities (an entity-expansion bomb or an "
                "external entity); isoscan never expands them")
    return message


def tidy_nodeid(nodeid: str) -> str:
    """jest-junit writes the same text as classname and name by default: keep it once."""
    half = (len(nodeid) - 2) // 2
    if len(nodeid) % 2 == 0 and nodeid[half : half + 2] == "::" and \
            nodeid[:half] == nodeid[half + 2 :]:
        return nodeid[:half]
    return nodeid


def _renamed(case: CaseResult) -> CaseResult:
    nodeid = tidy_nodeid(case.nodeid)
    return case if nodeid == case.nodeid else CaseResult(nodeid, case.outcome, case.duration,
                                                         case.message)


def _extras(path: Path) -> tuple[set[str], int | None]:
    """Test cases a runner retried to a pass (Surefire's ``<flakyFailure>``), and the order seed
    the runner reported (Ginkgo's ``RandomSeed`` suite property)."""
    try:
        tree = safe_etree.parse(str(path))
    except Exception:  # already read once by read_junit; be quiet here
        return set(), None
    found: set[str] = set()
    for case in tree.iter("testcase"):
        if any(case.find(tag) is not None for tag in _RERUN_PASSED):
            found.add(tidy_nodeid(_nodeid_of(case)))
    seed = None
    for suite in tree.iter("testsuite"):
        for prop in suite.findall("properties/property"):
            value = prop.get("value") or ""
            if prop.get("name") in _SEED_PROPERTIES and value.isdigit():
                seed = int(value)
    return found, seed


def _nodeid_of(case: Element) -> str:
    # The same naming as junit.read_junit: the isoscan property, else classname::name.
    for prop in case.iter("property"):
        if prop.get("name") == NODEID_PROPERTY and prop.get("value"):
            return str(prop.get("value"))
    classname, name = case.get("classname") or "", case.get("name") or ""
    return f"{classname}::{name}" if classname else name
