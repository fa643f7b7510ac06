"""The demo suite end to end: every planted bug gets its verdict, every victim its polluter.

The expected answers are the ones planted in examples/demo (see its README); the suite is
copied to a temporary folder so runs never share its lock file, its `.demo-shared/` folder or
its service port (derived from the copy's path) with another process.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import suitegen
from junitparser import JUnitXml
from suitegen import read_json, run_cli

DEMO = suitegen.EXAMPLES / "demo"

ORDER_DEPENDENT = {
    "tests/api/v1/test_cache_api.py::test_victim_cache_starts_empty":
        [["tests/test_cache_warmup.py::test_polluter_warms_cache"]],
    "tests/test_greeting.py::TestGreeting::test_victim_default_greeting":
        [["tests/test_env_shout.py::test_polluter_sets_shout_style_env"]],
    "tests/db/test_orders.py::TestOrders::test_victim_counts_all_orders":
        [["tests/db/test_orders.py::TestOrders::test_polluter_inserts_orders"]],
    "tests/features/test_checkout.py::test_victim_checkout_uses_classic_pipeline":
        [["tests/features/test_alpha_flag.py::test_polluter_a_enables_alpha",
          "tests/features/test_beta_flag.py::test_polluter_b_enables_beta"]],
    "tests/test_prices.py::test_victim_price_in_dollars":
        [["tests/i18n/test_locale_switch.py::test_polluter_switches_locale_to_fr"]],
    "tests/net/test_connect.py::test_victim_connect_hangs_after_handshake_required":
        [["tests/net/test_handshake_setup.py::test_polluter_requires_handshake"]],
    "tests/health/test_health_check.py::test_victim_health_check_crashes_in_maintenance":
        [["tests/health/test_maintenance_mode.py::test_polluter_enters_maintenance_mode"]],
    "tests/test_keys.py::test_victim_key_is_available[na\\xefve/key::1]":
        [["tests/api/v1/test_keys_admin.py::test_polluter_reserves_naive_key"]],
}
BRITTLE = {
    "tests/api/test_plugins_api.py::test_brittle_upper_plugin_available":
        ["tests/test_plugins_setup.py::test_state_setter_registers_upper_plugin"],
}
PARALLEL_ONLY = {
    "tests/locks/test_lock_backups.py::test_parallel_only_lock_backups",
    "tests/locks/test_lock_exports.py::test_parallel_only_lock_exports",
    "tests/locks/test_lock_reports.py::test_parallel_only_lock_reports",
}
# Parallel-only tests that fail only when their culprit runs at the right moment on another
# worker: a run of seeds may or may not catch them, so each is `parallel-only` or `stable`,
# never anything else. Each maps to the tests whose overlap makes it fail (for the ledger
# victim, a leftover rather than a collision, none: its culprit ran before it, not beside it).
PARALLEL_ONLY_BY_TIMING = {
    "tests/audit/test_audit_review.py::test_report_sees_no_foreign_rows":
        {"tests/audit/test_audit_export.py::test_export_writes_audit_rows"},
    "tests/pool/test_pool_orders.py::test_pool_orders_collection_is_private":
        {"tests/pool/test_pool_invoices.py::test_pool_invoices_collection_is_private"},
    "tests/pool/test_pool_invoices.py::test_pool_invoices_collection_is_private":
        {"tests/pool/test_pool_orders.py::test_pool_orders_collection_is_private"},
    "tests/svc/test_svc_metrics.py::test_metrics_server_starts":
        {"tests/svc/test_svc_health.py::test_health_server_starts"},
    "tests/svc/test_svc_health.py::test_health_server_starts":
        {"tests/svc/test_svc_metrics.py::test_metrics_server_starts"},
    "tests/ledger/test_ledger_report.py::test_ledger_report_starts_empty": set(),
}
NON_DETERMINISTIC = {"tests/test_coin.py::test_nondeterministic_coin_flip"}
BROKEN = {"tests/test_broken.py::test_broken_always_fails"}
# Tests whose verdict is never `stable` (the lock tests surely collide in 24 parallel runs).
PLANTED = 14
ALL_TESTS = 57


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "demo"


@pytest.fixture(scope="module")
def demo_report(demo_root: Path) -> dict[str, object]:
    root = demo_root
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("*.lock", "__pycache__",
                                                                ".pytest_cache", ".demo-shared"))
    out = root / "report.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("NO_COLOR", "1")
        mp.delenv("DEMO_GREETING_STYLE", raising=False)
        # 4 workers as well as 2: 24 parallel runs, so each lock test surely collides at least
        # once (a given lock test fails in roughly a sixth of the -n 2 runs, more with -n 4).
        code = run_cli(["seeds", "tests", "--count", "10", "--workers", "0,2,4", "--timeout", "2",
                        "--replays", "5", "--bisect", "--json", str(out),
                        "--junit-xml", "report.xml", "--markdown", "report.md",
                        "--svg", "matrix.svg", "--html", "report.html"])
    report = read_json(out)
    report["exit_code"] = code
    return report


def test_every_output_format_is_written_from_the_demo(demo_root: Path,
                                                    demo_report: dict[str, object]) -> None:
    unstable = sum(v != "stable" for v in _verdicts(demo_report).values())
    assert PLANTED <= unstable <= PLANTED + len(PARALLEL_ONLY_BY_TIMING)
    cases = [c for suite in JUnitXml.fromfile(str(demo_root / "report.xml")) for c in suite]
    assert len(cases) == unstable
    by_name = {f"{c.classname}::{c.name}": c for c in cases}
    assert any("polluter" in (r.message or "") for c in cases for r in c.result)
    assert len(by_name) == unstable
    svg = ET.parse(demo_root / "matrix.svg").getroot()
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}rect")) == unstable * 36
    markdown = (demo_root / "report.md").read_text()
    assert "test_victim_default_greeting" in markdown
    assert "<svg" in (demo_root / "report.html").read_text()


def _verdicts(report: dict[str, object]) -> dict[str, str]:
    tests = report["tests"]
    assert isinstance(tests, list)
    return {t["nodeid"]: t["verdict"] for t in tests}


def test_every_planted_bug_gets_its_verdict(demo_report: dict[str, object]) -> None:
    verdicts = _verdicts(demo_report)
    expected = {n: "order-dependent" for n in ORDER_DEPENDENT}
    expected |= {n: "brittle" for n in BRITTLE}
    expected |= {n: "parallel-only" for n in PARALLEL_ONLY}
    expected |= {n: "non-deterministic" for n in NON_DETERMINISTIC}
    expected |= {n: "broken" for n in BROKEN}
    assert len(expected) == PLANTED
    assert {n: v for n, v in verdicts.items()
            if v != "stable" and n not in PARALLEL_ONLY_BY_TIMING} == expected
    by_timing = {n: v for n, v in verdicts.items() if n in PARALLEL_ONLY_BY_TIMING}
    assert set(by_timing) == set(PARALLEL_ONLY_BY_TIMING)
    assert set(by_timing.values()) <= {"stable", "parallel-only"}, by_timing
    assert len(verdicts) == ALL_TESTS


def test_gate_fails_on_the_order_dependence(demo_report: dict[str, object]) -> None:
    assert demo_report["exit_code"] == 1


# The tests that break each parallel-only test, and how: every culprit set `seeds --bisect`
# names must hold one of them (a set may carry a bystander, e.g. the ledger module's first
# test, whose setup empties the table before the import fills it).
CULPRITS = {
    **{n: (PARALLEL_ONLY - {n}, "collision") for n in PARALLEL_ONLY},
    **{n: (beside, "collision") for n, beside in PARALLEL_ONLY_BY_TIMING.items() if beside},
    "tests/ledger/test_ledger_report.py::test_ledger_report_starts_empty":
        ({"tests/test_ledger_import.py::test_import_leaves_ledger_rows"}, "leftover"),
}


def test_bisect_names_each_victims_polluters(demo_report: dict[str, object]) -> None:
    pairs = demo_report["pairs"]
    assert isinstance(pairs, list)
    found = {p["victim"]: p for p in pairs}
    parallel = {n for n, v in _verdicts(demo_report).items() if v == "parallel-only"}
    assert set(found) == set(ORDER_DEPENDENT) | set(BRITTLE) | parallel
    for victim, polluters in ORDER_DEPENDENT.items():
        assert found[victim]["kind"] == "victim", victim
        # A set is listed in the order its tests ran in the failing order.
        assert sorted(map(sorted, found[victim]["polluters"])) == polluters, victim
    for brittle, setters in BRITTLE.items():
        assert found[brittle]["kind"] == "brittle"
        assert found[brittle]["state_setters"] == setters
    named = 0
    for victim in parallel:
        answer = found[victim]
        assert answer["kind"] == "parallel-only", victim
        culprits, mechanism = CULPRITS[victim]
        # A leftover replays serially, so it is always named; a collision whose recorded
        # overlap was too short to line up again in concurrent replays may go unnamed.
        if mechanism == "leftover" or answer["polluters"]:
            assert answer["parallel"]["mechanism"] == mechanism, victim
            assert answer["polluters"], victim
        for culprit_set in answer["polluters"]:
            assert set(culprit_set) & culprits, (victim, culprit_set)
        named += bool(answer["polluters"])
    # Usually every one is named; at least as many as the lock tests, always flagged.
    assert named >= len(PARALLEL_ONLY)


def test_crash_and_hang_victims_keep_the_matrix_full(demo_report: dict[str, object]) -> None:
    tests = demo_report["tests"]
    assert isinstance(tests, list)
    cells = {t["nodeid"]: set(t["outcomes"].values()) for t in tests}
    crash = "tests/health/test_health_check.py::test_victim_health_check_crashes_in_maintenance"
    hang = "tests/net/test_connect.py::test_victim_connect_hangs_after_handshake_required"
    assert "crashed" in cells[crash]
    assert "timeout" in cells[hang]
    # every test has a cell in every run
    runs = demo_report["runs"]
    assert isinstance(runs, list)
    assert all(len(t["outcomes"]) == len(runs) == 36 for t in tests)


def test_parallel_only_names_what_ran_beside_it(demo_report: dict[str, object]) -> None:
    tests = demo_report["tests"]
    assert isinstance(tests, list)
    for test in tests:
        if test["nodeid"] in PARALLEL_ONLY:
            beside = set(test["evidence"]["concurrent"])
            assert beside & (PARALLEL_ONLY - {test["nodeid"]}), test["nodeid"]
        elif test["nodeid"] in PARALLEL_ONLY_BY_TIMING and test["verdict"] == "parallel-only":
            # A collision: its culprit was running on another worker as it failed.
            beside = set(test["evidence"]["concurrent"])
            assert PARALLEL_ONLY_BY_TIMING[test["nodeid"]] <= beside, test["nodeid"]


# What `isoscan explain` must name as the first (highest ranked) state each polluter leaves.
STATE = {
    "tests/api/v1/test_cache_api.py::test_victim_cache_starts_empty": "demoapp.cache.CACHE",
    "tests/test_greeting.py::TestGreeting::test_victim_default_greeting": "DEMO_GREETING_STYLE",
    "tests/db/test_orders.py::TestOrders::test_victim_counts_all_orders": "rows.orders",
    "tests/test_prices.py::test_victim_price_in_dollars": "demoapp.i18n._current",
    "tests/net/test_connect.py::test_victim_connect_hangs_after_handshake_required":
        "demoapp.net._handshake_required",
    "tests/health/test_health_check.py::test_victim_health_check_crashes_in_maintenance":
        "demoapp.health._maintenance",
    "tests/test_keys.py::test_victim_key_is_available[na\\xefve/key::1]": "demoapp.keys.RESERVED",
    "tests/features/test_checkout.py::test_victim_checkout_uses_classic_pipeline":
        "demoapp.features",
    "tests/api/test_plugins_api.py::test_brittle_upper_plugin_available": "demoapp.plugins.PLUGINS",
}


def _bisect(root: Path, victim: str) -> tuple[int, dict[str, object]]:
    out = root / "bisect.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        code = run_cli(["bisect", victim, "--timeout", "2", "--json", str(out)])
    return code, read_json(out)


@pytest.mark.parametrize("victim", sorted(STATE))
def test_bisect_ends_with_the_state_left_behind_and_a_fix(
        demo_root: Path, demo_report: dict[str, object], victim: str) -> None:
    code, answer = _bisect(demo_root, victim)
    assert code == 0
    assert "run #" in str(answer["source"])  # started from the order seeds stored
    blamed = answer["polluters"] or [answer["state_setters"]]
    expected = ORDER_DEPENDENT.get(victim) or [BRITTLE[victim]]
    assert sorted(map(sorted, blamed)) == expected  # type: ignore[arg-type]
    explanation = answer["explanation"]
    assert isinstance(explanation, dict)
    first = explanation["changes"][0]
    assert first["name"].startswith(STATE[victim]), first["line"]
    assert first["hint"]


def test_bisect_reports_a_lock_test_as_parallel_only(demo_root: Path,
                                                    demo_report: dict[str, object]) -> None:
    victim = "tests/locks/test_lock_exports.py::test_parallel_only_lock_exports"
    code, answer = _bisect(demo_root, victim)
    assert code == 0  # a culprit on another worker found and verified
    assert answer["kind"] == "parallel-only"
    assert set(answer["concurrent"]) & (PARALLEL_ONLY - {victim})  # type: ignore[arg-type]
    polluters = answer["polluters"]
    assert isinstance(polluters, list) and polluters
    for culprit_set in polluters:
        assert set(culprit_set) & (PARALLEL_ONLY - {victim}), culprit_set
    parallel = answer["parallel"]
    assert isinstance(parallel, dict)
    assert parallel["mechanism"] == "collision"
    assert any(s["name"].endswith("demo.lock") for s in parallel["shared"]), parallel["shared"]


def test_bisect_never_blames_a_non_deterministic_test(demo_root: Path,
                                                     demo_report: dict[str, object]) -> None:
    code, answer = _bisect(demo_root, "tests/test_coin.py::test_nondeterministic_coin_flip")
    assert code == 1
    assert answer["kind"] == "non-deterministic"
    assert answer["polluters"] == [] and answer["state_setters"] == []
