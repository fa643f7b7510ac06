"""``isoscan audit`` on the examples, one command, no change to their suites: every planted
collision is confirmed with its victim, culprit and resource, and nothing else is. On
examples/parallel_audit the command is the one `make demo-audit` runs, read from the Makefile,
and what it prints (each collision's culprit, resource and fix, and the table) is checked too.

examples/parallel_audit needs ISOSCAN_TEST_REDIS_URL for its Redis pair (its Redis tests
skip without it, and this test then leaves that pair out); examples/pg_parallel/audit_cases
needs ISOSCAN_TEST_PG_DSN (.ci/run starts both servers)."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
from suitegen import read_json, run_cli

from isoscan.console import console

# Forced-overlap replays on real processes: `timing`, one at a time in a process of their own.
pytestmark = pytest.mark.timing

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MAKEFILE = EXAMPLES.parent / "Makefile"


def demo_audit_command() -> list[str]:
    """The arguments `make demo-audit` gives `isoscan` (after the program name), from the
    Makefile, less its --store (this test keeps its store in its own folder)."""
    recipe = MAKEFILE.read_text().replace("\\\n", " ").split("\ndemo-audit:", 1)[1]
    (line,) = [line for line in recipe.splitlines() if "/isoscan audit " in line]
    args = shlex.split(line.split("/isoscan ", 1)[1].split(";", 1)[0])
    store = args.index("--store")
    return args[:store] + args[store + 2:]


def _audit(folder: Path, paths: list[str], tmp: Path, mp: pytest.MonkeyPatch
           ) -> tuple[int, dict[str, Any]]:
    mp.chdir(folder)
    code = run_cli(["audit", *paths, "--store", str(tmp / "store"), "--timeout", "60",
                    "--json", str(tmp / "audit.json")])
    return code, read_json(tmp / "audit.json")


def _found(doc: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """(victim, culprit) -> what they share, as printed."""
    return {(c["victim"], c["polluters"][0][0]): [s["text"] for s in c["parallel"]["shared"]]
            for c in doc["collisions"]}


def _assert_pair(found: dict[tuple[str, str], list[str]], one: str, two: str,
                 resource: str) -> None:
    hits = {k: v for k, v in found.items() if set(k) == {one, two}}
    assert hits, f"no collision between {one} and {two}: {sorted(found)}"
    for texts in hits.values():
        assert any(resource in text for text in texts), texts


def test_the_demo_audit_command_is_the_one_the_readme_shows() -> None:
    args = demo_audit_command()
    assert args[0] == "audit" and args[-1] != "audit"
    assert f"isoscan {' '.join(args)}" in (EXAMPLES.parent / "README.md").read_text()


def test_parallel_audit_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str],
                                redis_url_if_any: str | None) -> None:
    # Its Redis tests flush the whole server: a server of this test's own.
    if redis_url_if_any is not None:
        monkeypatch.setenv("ISOSCAN_TEST_REDIS_URL", redis_url_if_any)
    folder = tmp_path / "parallel_audit"
    shutil.copytree(EXAMPLES / "parallel_audit", folder,
                    ignore=shutil.ignore_patterns(".audit-shared", "__pycache__"))
    monkeypatch.setenv("AUDIT_EXAMPLE_SERVICE_PORT", str(_free_port()))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(console, "width", 1000)  # the table's cells hold whole node ids
    monkeypatch.chdir(folder)
    code = run_cli([*demo_audit_command(), "--store", str(tmp_path / "store"),
                    "--json", str(tmp_path / "audit.json")])
    printed = capsys.readouterr().out
    doc = read_json(tmp_path / "audit.json")
    assert code == 1
    found = _found(doc)
    t = "tests/"
    planted = [
        (t + "test_events_report.py::test_report_starts_empty",
         t + "test_events_write.py::test_record_login_events", "table events"),
        (t + "test_service_items.py::test_service_lists_added_item",
         t + "test_service_reset.py::test_service_reset_empties_items", "http endpoint 127.0.0.1:"),
        (t + "test_fixed_port.py::test_metrics_endpoint_listens",
         t + "test_fixed_port.py::test_health_endpoint_listens", "both bind 127.0.0.1:18572"),
        (t + "test_pool_invoices.py::test_pool_invoices_sees_only_its_files",
         t + "test_pool_refunds.py::test_pool_refunds_sees_only_its_files", "pool-a"),
    ]
    if redis_url_if_any is not None:
        planted.append((t + "test_redis_cart.py::test_cart_keeps_current_session",
                        t + "test_redis_profile.py::test_profile_keeps_current_session",
                        "redis "))
    for one, two, resource in planted:
        _assert_pair(found, one, two, resource)
    # The class's teardown writes the snapshot back: named through the class's last test.
    signup = t + "test_accounts_signup.py::test_signup_keeps_new_account"
    last = t + "test_snapshot_class.py::TestAccountsAdmin::test_counts_accounts"
    assert (signup, last) in found
    assert any("accounts" in text for text in found[(signup, last)])
    allowed = {frozenset((a, b)) for a, b, _ in planted} | {frozenset((signup, last))}
    assert {frozenset(k) for k in found} <= allowed  # no false alarm
    # What `make demo-audit` prints: each collision with its culprit, resource and fix, then
    # the table with who collided with whom.
    for collision in doc["collisions"]:
        victim, culprit = collision["victim"], collision["polluters"][0][0]
        block = printed.split(f"{victim}: parallel-only", 1)[1].split("Reproduce", 1)[0]
        assert culprit in block
        assert collision["parallel"]["shared"][0]["text"] in block
        assert all(f"fix: {hint}" in block for hint in collision["parallel"]["fix_hints"])
        assert collision["parallel"]["fix_hints"]
    table = printed.split("Shared resources", 1)[1]
    for victim, culprit in found:
        assert f"{victim} ← {culprit}" in table


def test_pg_audit_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       pg_database: str) -> None:
    monkeypatch.setenv("ISOSCAN_TEST_PG_DSN", pg_database)
    code, doc = _audit(EXAMPLES / "pg_parallel", ["audit_cases"], tmp_path, monkeypatch)
    assert code == 1
    found = _found(doc)
    digest = "audit_cases/test_digest.py::test_digest_of_a_fresh_database_is_empty"
    signup = "audit_cases/test_signup_events.py::test_signup_records_an_event"
    assert (digest, signup) in found
    assert any("table audit_events" in text and text.startswith("both use postgresql ")
               for text in found[(digest, signup)])
    _assert_pair(found, "audit_cases/test_staging_import.py::test_import_builds_the_staging_table",
                 "audit_cases/test_staging_export.py::test_export_builds_the_staging_table",
                 "table staging_rows")
    assert len({frozenset(k) for k in found}) == 2  # no false alarm
    rows = {row["name"]: row for row in doc["table"]}
    assert rows["audit_events"]["leave_data"] == [signup]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
