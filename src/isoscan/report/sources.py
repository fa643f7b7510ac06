"""What the SOURCE arguments of ``isoscan report`` and ``isoscan baseline`` name: a store (its
latest finished ``seeds`` session, or a session by id), JUnit XML files, or folders of either."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from isoscan.errors import ExitCode, IsoscanError, UsageError
from isoscan.model.status import TextEnum
from isoscan.report.foreign_junit import JUnitRun, is_store, scan_folder
from isoscan.store.db import DB_NAME


class SourceKind(TextEnum):
    """What a report source is; the JSON report's ``sources[].kind``."""

    STORE = "store"
    JUNIT = "junit"


class NothingToReport(IsoscanError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.SUITE)


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    path: Path
    session_id: int | None = None  # STORE: None = the latest finished seeds session
    runs: tuple[JUnitRun, ...] = ()  # JUNIT


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
