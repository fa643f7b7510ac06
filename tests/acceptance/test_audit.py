"""``isoscan audit`` end to end on a generated suite with planted collisions: a SQLite table
one test fills while another counts it, a fixed port two tests bind, a file one test rewrites
atomically while another reads it (shared, never colliding), and tests touching nothing.
One audit run (module scope) is read by every assert."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest
from suitegen import fillers, read_json, run_cli, write

# Forced-overlap replays on real processes: `timing`, one at a time in a process of their own.
pytestmark = pytest.mark.timing

WRITER = "test_ledger_write.py::test_writer_leaves_rows"
COUNTER = "test_ledger_count.py::test_counter_sees_only_its_rows"
PORT_A = "test_port_a.py::test_binds_fixed_port_a"
PORT_B = "test_port_b.py::test_binds_fixed_port_b"
SETTINGS_W = "test_settings.py::test_settings_rewritten_atomically"
SETTINGS_R = "test_settings_read.py::test_settings_readable"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _suite(root: Path, shared: Path, port: int) -> Path:
    db = shared / "app.sqlite"
    settings = shared / "settings.json"
    bind = textwrap.dedent(f"""
        import socket, time

        def _serve():
            with socket.socket() as s:
                s.bind(("127.0.0.1", {port}))
                s.listen()
                time.sleep(0.3)
    """)
    return write(root, {
        "test_ledger_write.py": f"""
            import sqlite3, time

            def test_writer_leaves_rows():
                db = sqlite3.connect({str(db)!r})
                db.execute("CREATE TABLE IF NOT EXISTS entries (n int)")
                db.execute("INSERT INTO entries VALUES (1)")
                db.commit()
                time.sleep(0.3)
                db.close()
        """,
        "test_ledger_count.py": f"""
            import sqlite3, time

            def test_counter_sees_only_its_rows():
                db = sqlite3.connect({str(db)!r})
                db.execute("CREATE TABLE IF NOT EXISTS entries (n int)")
                db.execute("DELETE FROM entries")
                db.execute("INSERT INTO entries VALUES (2)")
                db.commit()
                time.sleep(0.5)
                count = db.execute("SELECT count(*) FROM entries").fetchone()[0]
                db.execute("DELETE FROM entries")
                db.commit()
                assert count == 1
        """,
        "test_port_a.py": bind + "\ndef test_binds_fixed_port_a():\n    _serve()\n",
        "test_port_b.py": bind + "\ndef test_binds_fixed_port_b():\n    _serve()\n",
        "test_settings.py": f"""
            import os

            def test_settings_rewritten_atomically():
                tmp = {str(settings)!r} + ".tmp"
                with open(tmp, "w") as f:
                    f.write("{{}}")
                os.replace(tmp, {str(settings)!r})
        """,
        "test_settings_read.py": f"""
            import os

            def test_settings_readable():
                if os.path.exists({str(settings)!r}):
                    with open({str(settings)!r}) as f:
                        assert f.read() == "{{}}"
        """,
        "test_plain.py": fillers("plain", 4),
    })


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("audit")
    shared = base / "shared"
    shared.mkdir()
    root = _suite(base / "suite", shared, _free_port())
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    try:
        code = run_cli(["audit", ".", "--store", str(base / "store"), "--timeout", "30",
                        "--json", str(base / "audit.json"), "--markdown",
                        str(base / "audit.md"), "--html", str(base / "audit.html")])
    finally:
        mp.undo()
    return {"code": code, "doc": read_json(base / "audit.json"),
            "md": (base / "audit.md").read_text(), "html": (base / "audit.html").read_text()}


def _collisions(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["victim"]: c for c in doc["collisions"]}


def test_gate_fails_on_confirmed_collisions(audit: dict[str, Any]) -> None:
    assert audit["code"] == 1


def test_counter_collides_with_the_writer_through_the_table(audit: dict[str, Any]) -> None:
    found = _collisions(audit["doc"])[COUNTER]
    assert found["kind"] == "parallel-only"
    assert found["polluters"] == [[WRITER]]
    texts = [s["text"] for s in found["parallel"]["shared"]]
    assert texts[0].startswith("both use sqlite ") and "table entries (write/write)" in texts[0]
    assert found["reproduce"].startswith("isoscan replay ")
    assert found["parallel"]["confirmation"]["behaved"] >= 1  # it passed alone


def test_fixed_port_names_the_other_binder(audit: dict[str, Any]) -> None:
    found = _collisions(audit["doc"])
    port = [v for v in (PORT_A, PORT_B) if v in found]
    assert len(port) >= 1
    for victim in port:
        other = PORT_B if victim == PORT_A else PORT_A
        assert found[victim]["polluters"] == [[other]]
        assert found[victim]["parallel"]["shared"][0]["text"].startswith(
            "both bind 127.0.0.1:")


def test_no_false_alarm_and_shared_pair_listed_apart(audit: dict[str, Any]) -> None:
    doc = audit["doc"]
    assert set(_collisions(doc)) <= {COUNTER, PORT_A, PORT_B}
    assert {SETTINGS_R, SETTINGS_W} in [set(p) for p in doc["shared_not_seen_to_collide"]]
    assert not any("plain" in t for c in doc["candidates"] for t in c["tests"])


def test_table_and_written_reports(audit: dict[str, Any]) -> None:
    rows = {row["name"]: row for row in audit["doc"]["table"]}
    entries = rows["entries"]
    assert sorted(entries["writers"]) == sorted([COUNTER, WRITER])
    assert entries["leave_data"] == [WRITER]
    assert entries["collisions"] == [{"victim": COUNTER, "culprit": WRITER}]
    assert COUNTER in audit["md"] and "| resource |" in audit["md"]
    assert COUNTER in audit["html"] and "<table>" in audit["html"]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(["audit", "no_such_dir"]) == 2
    assert run_cli(["audit", ".", "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "path not found: no_such_dir" in err[0]
    assert "Traceback" not in "\n".join(err)
