"""The demo end to end: the command `make demo` runs, on a copy of examples/demo, and every
finding it must show, exactly.

The command is read from the Makefile, so what is asserted here is what a newcomer sees. The
expected answers are the ones planted in examples/demo (see its README): every planted test
gets its verdict (none may come out `stable`), every other test is `stable`, every victim its
exact polluters, the brittle test its state-setter, the import-time test the module whose import
breaks it, and the parallel-only test its culprit on the other worker and the lock file they
share. The suite is copied to a temporary folder so runs never share its lock file with another
process.

One session (a module-scoped fixture) is shared by every test here; the `isoscan bisect` and
`isoscan explain`-style checks start from the runs that session stored.
"""

from __future__ import annotations

import shlex
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import suitegen
from junitparser import JUnitXml
from suitegen import read_json, run_cli

# The demo's parallel-only case is a real collision between xdist workers: run alone.
pytestmark = pytest.mark.timing

DEMO = suitegen.EXAMPLES / "demo"
MAKEFILE = suitegen.REPO / "Makefile"

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
    "tests/locks/test_lock_exports.py::test_parallel_only_lock_exports":
        "tests/locks/test_lock_backups.py::test_backup_holds_the_export_lock",
}
IMPORT_TIME = {
    "tests/report/test_report_csv.py::test_import_time_report_is_csv_by_default":
        ["tests/report/test_report_tsv.py"],
}
NON_DETERMINISTIC = {"tests/test_coin.py::test_nondeterministic_coin_flip"}
BROKEN = {"tests/test_broken.py::test_broken_always_fails"}
PLANTED = 13
ALL_TESTS = 47


def demo_command() -> list[str]:
    """The arguments `make demo` gives `isoscan` (after the program name), from the Makefile,
    less its --store and --html (this test writes into its own folder)."""
    text = MAKEFILE.read_text().replace("\\\n", " ")
    (line,) = [line for line in text.splitlines() if "/isoscan seeds " in line]
    words = shlex.split(line.split("/isoscan ", 1)[1].split(";", 1)[0])
    args: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("--store", "--html"):
            skip = True
        else:
            args.append(word)
    return args


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "demo"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("*.lock", "__pycache__",
                                                                ".pytest_cache", ".isoscan*"))
    return root


@pytest.fixture(scope="module")
def demo_report(demo_root: Path) -> dict[str, object]:
    out = demo_root / "report.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(demo_root)
        mp.setenv("NO_COLOR", "1")
        mp.delenv("DEMO_GREETING_STYLE", raising=False)
        code = run_cli([*demo_command(), "--json", str(out), "--junit-xml", "report.xml",
                        "--markdown", "report.md", "--svg", "matrix.svg",
                        "--html", "report.html"])
    report = read_json(out)
    report["exit_code"] = code
    return report


def _verdicts(report: dict[str, object]) -> dict[str, str]:
    tests = report["tests"]
    assert isinstance(tests, list)
    return {t["nodeid"]: t["verdict"] for t in tests}


def test_the_demo_command_is_the_one_the_readme_shows() -> None:
    args = demo_command()
    assert args[0] == "seeds" and "--bisect" in args and args[-1] == "tests"
    shown = " ".join(args)
    assert f"isoscan {shown}" in (suitegen.REPO / "README.md").read_text()


def test_every_planted_bug_gets_its_verdict_and_nothing_else_is_flagged(
        demo_report: dict[str, object]) -> None:
    verdicts = _verdicts(demo_report)
    expected = {n: "order-dependent" for n in ORDER_DEPENDENT}
    expected |= {n: "brittle" for n in BRITTLE}
    expected |= {n: "parallel-only" for n in PARALLEL_ONLY}
    expected |= {n: "import-time" for n in IMPORT_TIME}
    expected |= {n: "non-deterministic" for n in NON_DETERMINISTIC}
    expected |= {n: "broken" for n in BROKEN}
    assert len(expected) == PLANTED
    assert {n: v for n, v in verdicts.items() if v != "stable"} == expected
    assert len(verdicts) == ALL_TESTS


def test_gate_fails_on_the_order_dependence(demo_report: dict[str, object]) -> None:
    assert demo_report["exit_code"] == 1


def test_every_output_format_is_written_from_the_demo(demo_root: Path,
                                                    demo_report: dict[str, object]) -> None:
    runs = demo_report["runs"]
    assert isinstance(runs, list)
    cases = [c for suite in JUnitXml.fromfile(str(demo_root / "report.xml")) for c in suite]
    assert len(cases) == PLANTED
    by_name = {f"{c.classname}::{c.name}": c for c in cases}
    assert len(by_name) == PLANTED
    assert any("polluter" in (r.message or "") for c in cases for r in c.result)
    svg = ET.parse(demo_root / "matrix.svg").getroot()
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}rect")) == PLANTED * len(runs)
    markdown = (demo_root / "report.md").read_text()
    assert "test_victim_default_greeting" in markdown
    assert "<svg" in (demo_root / "report.html").read_text()


def test_bisect_names_each_victims_polluters(demo_report: dict[str, object]) -> None:
    pairs = demo_report["pairs"]
    assert isinstance(pairs, list)
    found = {p["victim"]: p for p in pairs}
    assert set(found) == set(ORDER_DEPENDENT) | set(BRITTLE) | set(PARALLEL_ONLY)
    for victim, polluters in ORDER_DEPENDENT.items():
        assert found[victim]["kind"] == "victim", victim
        assert sorted(map(sorted, found[victim]["polluters"])) == polluters, victim
    for brittle, setters in BRITTLE.items():
        assert found[brittle]["kind"] == "brittle"
        assert found[brittle]["state_setters"] == setters


def test_parallel_only_names_its_culprit_on_the_other_worker_and_the_lock(
        demo_report: dict[str, object]) -> None:
    pairs = {p["victim"]: p for p in demo_report["pairs"]}  # type: ignore[attr-defined]
    tests = {t["nodeid"]: t for t in demo_report["tests"]}  # type: ignore[attr-defined]
    for victim, culprit in PARALLEL_ONLY.items():
        # The failing xdist run had the culprit running beside it.
        assert culprit in tests[victim]["evidence"]["concurrent"], victim
        answer = pairs[victim]
        assert answer["kind"] == "parallel-only"
        assert answer["polluters"] == [[culprit]]
        parallel = answer["parallel"]
        assert parallel["mechanism"] == "collision"
        assert parallel["workers"][culprit].startswith("gw")
        assert any(s["name"].endswith("demo.lock") and s["culprit"] == culprit
                   for s in parallel["shared"]), parallel["shared"]


def test_import_time_names_the_module_whose_import_breaks_it(
        demo_report: dict[str, object]) -> None:
    tests = {t["nodeid"]: t for t in demo_report["tests"]}  # type: ignore[attr-defined]
    for victim, modules in IMPORT_TIME.items():
        evidence = tests[victim]["evidence"]
        assert evidence["import_time"]["modules"] == modules
        assert set(evidence["alone_in_module"]) == {"passed"}


def test_crash_and_hang_victims_keep_the_matrix_full(demo_report: dict[str, object]) -> None:
    tests = demo_report["tests"]
    runs = demo_report["runs"]
    assert isinstance(tests, list) and isinstance(runs, list)
    cells = {t["nodeid"]: set(t["outcomes"].values()) for t in tests}
    crash = "tests/health/test_health_check.py::test_victim_health_check_crashes_in_maintenance"
    hang = "tests/net/test_connect.py::test_victim_connect_hangs_after_handshake_required"
    assert "crashed" in cells[crash]
    assert {"timeout", "timeout-early"} & cells[hang]
    # Every test has a cell in every run: 10 orders (collected, reversed, 8 planned) x 2.
    assert all(len(t["outcomes"]) == len(runs) == 20 for t in tests)


# What `isoscan bisect` (which explains its answer) must name as the first, highest ranked,
# state each polluter leaves.
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
        # --no-sweep: the session already swept each polluter (and these tests assert on the
        # answer and its explanation, not on a sweep); a sweep would run the polluter before
        # every other test, the lock-holding backup too, once per victim.
        code = run_cli(["bisect", victim, "--timeout", "2", "--no-sweep", "--json", str(out)])
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


def test_bisect_never_blames_a_non_deterministic_test(demo_root: Path,
                                                     demo_report: dict[str, object]) -> None:
    code, answer = _bisect(demo_root, "tests/test_coin.py::test_nondeterministic_coin_flip")
    assert code == 1
    assert answer["kind"] == "non-deterministic"
    assert answer["polluters"] == [] and answer["state_setters"] == []
