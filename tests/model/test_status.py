"""The kinds stored as text: every value read back is a member of its enum."""

from __future__ import annotations

from pathlib import Path

import pytest

from isoscan.execution.argv import Suite
from isoscan.execution.records import parse_outcome
from isoscan.model.answer import BisectKind
from isoscan.model.outcomes import Outcome
from isoscan.model.status import Command, RunPurpose, RunStatus, SessionStatus
from isoscan.store.db import Store


@pytest.mark.parametrize("kind", list(BisectKind))
def test_every_bisect_answer_is_a_session_status(kind: BisectKind) -> None:
    # A bisect session ends with its answer's kind; the column holds one enum only.
    assert SessionStatus.answered(kind).value == kind.value


def test_store_rows_come_back_as_enums(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    session_id = store.begin_session(Command.BISECT, tmp_path, ["tests"], [], None, None)
    store.end_session(session_id, SessionStatus.answered(BisectKind.PARALLEL_ONLY))
    session = store.session(session_id)
    assert session is not None
    assert session.command is Command.BISECT
    assert session.status is SessionStatus.PARALLEL_ONLY
    with store.recording_session(Command.SEEDS, Suite(cwd=tmp_path, paths=("tests",))) as recording:
        pass
    seeds = store.session(recording.id)
    assert seeds is not None and seeds.status is SessionStatus.DONE
    store.close()


def test_unknown_outcome_in_an_event_file_counts_as_a_failure() -> None:
    assert parse_outcome("passed") is Outcome.PASSED
    assert parse_outcome("exploded") is Outcome.FAILED
    assert RunPurpose("plan") is RunPurpose.PLAN and RunStatus("ok") is RunStatus.OK

