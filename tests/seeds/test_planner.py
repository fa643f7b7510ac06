"""Planned orders (``isoscan seeds --count N``): what the plan claims is what its orders run,
the same plan seed plans the same orders, odd node ids survive, and on a real suite the planned
orders find every victim a cleaner beside the polluter hides from pytest-randomly's seeds."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
import suitegen
from pollution_shapes import make_shape
from suitegen import fillers, read_json, run_cli, write

from isoscan.execution.argv import Suite
from isoscan.execution.collect import collect_ids_once
from isoscan.seeds.coverage import measure
from isoscan.seeds.grouping import module_of, split_nodeid
from isoscan.seeds.planner import plan_orders
from isoscan.seeds.shard import plan_seeds, shard_slice, sharded_plan

ODD_IDS = [
    "tests/test_odd.py::test_param[a::b]",
    "tests/test_odd.py::test_param[[x]]",
    "tests/test_odd.py::test_param[\u00e9t\u00e9 \u2603]",
    "tests/test_odd.py::TestK::test_in_class[1-2]",
    "tests/test_odd.py::TestK::test_plain",
    "tests/sub dir/test_spaces.py::test_one",
    "tests/sub dir/test_spaces.py::TestOuter::TestInner::test_deep",
    "tests/sub dir/test_spaces.py::TestOuter::TestInner::test_deeper[\u65e5\u672c]",
]


def suite_ids(modules: int, per_module: int) -> list[str]:
    """Module m has ``per_module`` tests; every third module holds them in a class."""
    ids = []
    for m in range(modules):
        inner = "TestThings::" if m % 3 == 2 else ""
        ids += [f"tests/test_m{m}.py::{inner}test_{t}[p::{t}]" for t in range(per_module)]
    return ids


def groups_of(nodeid: str) -> list[tuple[str, ...]]:
    parts = split_nodeid(nodeid)
    return [parts[:depth] for depth in range(1, len(parts))]


def assert_groups_contiguous(order: list[str]) -> None:
    """Every module and class runs in one piece, so its fixtures are set up once."""
    seen: set[tuple[str, ...]] = set()
    previous: list[tuple[str, ...]] = []
    for nodeid in order:
        current = groups_of(nodeid)
        for group in current:
            if group not in previous:
                assert group not in seen, f"{group} split in {order}"
                seen.add(group)
        previous = current


def counted(ids: list[str], orders: list[list[str]]) -> dict[str, int]:
    """The pairs run back to back, counted straight from the orders."""
    module = {t: split_nodeid(t)[0] for t in ids}
    pairs = {(a, b) for order in orders for a, b in pairwise(order)}
    return {
        "module_pairs": len({(module[a], module[b]) for a, b in pairs if module[a] != module[b]}),
        "in_modules": sum(module[a] == module[b] for a, b in pairs),
        "across_modules": sum(module[a] != module[b] for a, b in pairs),
    }


@pytest.mark.parametrize("modules, per_module, count", [(8, 3, 6), (5, 6, 3), (4, 4, 12),
                                                        (1, 7, 5), (3, 1, 2)])
def test_the_coverage_claimed_is_counted_in_the_orders(modules: int, per_module: int,
                                                       count: int) -> None:
    ids = suite_ids(modules, per_module)
    planned = plan_orders(ids, count, 11)
    assert len(planned) == count
    for order in planned:
        assert sorted(order) == sorted(ids)  # every test once
        assert_groups_contiguous(order)
    orders = [ids, ids[::-1], *planned]
    claim = measure(ids, orders, plan_seed=11, planned=count)
    truth = counted(ids, orders)
    assert claim.module_pairs.covered == truth["module_pairs"]
    assert claim.in_modules.covered == truth["in_modules"]
    assert claim.across_modules.covered == truth["across_modules"]
    n = len(ids)
    assert claim.module_pairs.total == modules * (modules - 1)
    assert claim.in_modules.total == modules * per_module * (per_module - 1)
    assert claim.in_modules.total + claim.across_modules.total == n * (n - 1)
    assert claim.to_json()["test_pairs"]["covered"] == truth["in_modules"] + truth["across_modules"]


def test_module_pairs_are_all_run_in_as_many_orders_as_modules() -> None:
    # Even: the collected, the reversed and 6 planned orders are the 8 rows of the design.
    ids = suite_ids(8, 2)
    coverage = measure(ids, [ids, ids[::-1], *plan_orders(ids, 6, 3)], plan_seed=3, planned=6)
    assert coverage.module_pairs.covered == 56
    assert coverage.module_pairs_complete_after == 8
    assert "all 56 back-to-back module pairs (in 8 orders)" in coverage.describe()
    # Odd: one more order.
    ids = suite_ids(7, 2)
    coverage = measure(ids, [ids, ids[::-1], *plan_orders(ids, 6, 3)], plan_seed=3, planned=6)
    assert (coverage.module_pairs.covered, coverage.module_pairs_complete_after) == (42, 8)
    # Inside one module of 6 tests: 6 orders run all 30 ordered pairs back to back.
    ids = suite_ids(1, 6)
    coverage = measure(ids, [ids, ids[::-1], *plan_orders(ids, 4, 3)], plan_seed=3, planned=4)
    assert (coverage.in_modules.covered, coverage.in_modules.total) == (30, 30)
    # Fewer orders than modules: every planned order still runs only new module pairs.
    ids = suite_ids(10, 2)
    coverage = measure(ids, [ids, ids[::-1], *plan_orders(ids, 3, 3)], plan_seed=3, planned=3)
    assert coverage.module_pairs.covered == 5 * 9
    assert "45 of 90 back-to-back module pairs" in coverage.describe()


def test_the_same_plan_seed_plans_the_same_orders_in_any_process() -> None:
    ids = suite_ids(6, 4) + ODD_IDS
    first = plan_orders(ids, 5, 42)
    assert plan_orders(ids, 5, 42) == first
    assert plan_orders(ids, 5, 43) != first
    # Another interpreter with another string-hash salt, as another CI job would be.
    script = ("import json, sys; from isoscan.seeds.planner import plan_orders; "
              "print(json.dumps(plan_orders(json.loads(sys.stdin.read()), 5, 42)))")
    out = subprocess.run([sys.executable, "-c", script], input=json.dumps(ids),
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONHASHSEED="12345"))
    assert json.loads(out.stdout) == first


def test_node_ids_split_into_their_groups() -> None:
    assert split_nodeid("tests/test_odd.py::test_param[a::b]") == (
        "tests/test_odd.py", "test_param[a::b]")
    assert split_nodeid("tests/sub dir/test_spaces.py::TestOuter::TestInner::test_deep") == (
        "tests/sub dir/test_spaces.py", "TestOuter", "TestInner", "test_deep")
    assert split_nodeid("tests/test_odd.py::TestK::test_in_class[x::[y]]") == (
        "tests/test_odd.py", "TestK", "test_in_class[x::[y]]")
    assert split_nodeid("doc.txt") == ("doc.txt",)
    planned = plan_orders(ODD_IDS, 4, 1)
    for order in planned:
        assert Counter(order) == Counter(ODD_IDS)
        assert_groups_contiguous(order)


def test_shards_share_the_planned_orders_and_split_the_plan_once() -> None:
    ids = suite_ids(5, 3)
    # Two jobs plan independently from the same plan seed.
    jobs = [plan_orders(ids, 4, 99) for _ in range(2)]
    assert jobs[0] == jobs[1]
    plans = [sharded_plan(4, [7], [0, 2], None, 99, planned=[tuple(o) for o in job])
             for job in jobs]
    assert plans[0] == plans[1]
    plan = plans[0]
    assert [p.ordering.kind for p in plan[::2]] == [
        "collected", "reversed", "random", "planned", "planned", "planned", "planned"]
    # The planned orders run under the seeds --random would have drawn, after --seed 7.
    assert [p.ordering.seed for p in plan[6::2]] == plan_seeds(4, [7], 99)[1:]
    assert [p.order for p in plan[6::2]] == [tuple(o) for o in jobs[0]]
    slices = [shard_slice(plan, k, 3) for k in (1, 2, 3)]
    assert sorted(plan.index(p) for s in slices for p in s) == list(range(len(plan)))
    assert sharded_plan(4, [7], [0, 2], "2/3", 99, planned=[tuple(o) for o in jobs[0]]) == \
        slices[1]


def test_ten_thousand_tests_plan_in_seconds() -> None:
    ids = [f"tests/pkg{m // 50}/test_{m}.py::test_{t}" for m in range(500) for t in range(20)]
    started = time.perf_counter()
    planned = plan_orders(ids, 10, 5)
    coverage = measure(ids, [ids, ids[::-1], *planned], plan_seed=5, planned=10)
    assert time.perf_counter() - started < 15  # about 1 s on the 2-core development machine
    assert all(len(order) == 10_000 for order in planned)
    assert coverage.in_modules.covered == 500 * 19 * 12  # every order runs new pairs in each
    assert coverage.across_modules.total == 10_000 * 9_999 - 500 * 20 * 19


# --- end to end: real pytest runs -----------------------------------------------------------

POLLUTER = "tests/test_a.py::test_a_polluter"
VICTIM_MODULES = "bcdefg"
VICTIMS = {f"tests/test_{m}.py::test_{m}_victim" for m in VICTIM_MODULES}
# The polluter sits between two cleaners in its module: only an order that runs it last there,
# with a victim's module later, shows that victim.
CLEANER_BESIDE = {
    "tests/test_a.py": """
import state

def test_a_reset():
    state.FLAGS.clear()

def test_a_polluter():
    state.FLAGS["polluted"] = True

def test_a_reset_again():
    state.FLAGS.clear()
""",
    **{f"tests/test_{m}.py": f"""
import state

def test_{m}_victim():
    assert "polluted" not in state.FLAGS

def test_{m}_fine():
    assert True
""" for m in VICTIM_MODULES},
}
# pytest-randomly's shuffle is a fixed function of its seed; with the seeds this plan seed
# draws, --random misses victims here (the planned orders do not depend on the seed's luck).
PLAN_SEED = "4"


def order_dependent(report: dict[str, object]) -> set[str]:
    tests = report["tests"]
    assert isinstance(tests, list)
    return {t["nodeid"] for t in tests if t["verdict"] == "order-dependent"}


@pytest.mark.slow
def test_planned_orders_find_every_victim_random_seeds_miss(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "suite", CLEANER_BESIDE)
    monkeypatch.chdir(root)
    # 7 modules, 8 planned orders.
    assert run_cli(["seeds", "tests", "--count", "8", "--plan-seed", PLAN_SEED,
                    "--json", "planned.json"]) == 1
    printed = capsys.readouterr().out
    assert run_cli(["seeds", "tests", "--count", "8", "--plan-seed", PLAN_SEED, "--random",
                    "--store", ".isoscan-random", "--json", "random.json"]) == 1
    planned, shuffled = read_json(root / "planned.json"), read_json(root / "random.json")
    assert order_dependent(planned) == VICTIMS
    missed = VICTIMS - order_dependent(shuffled)
    assert missed, "pytest-randomly's seeds found every victim too"
    # The plan said what it covers before the runs, and the JSON keeps it.
    plan = planned["plan"]
    assert isinstance(plan, dict)
    assert plan["module_pairs"] == {"covered": 42, "total": 42, "complete_after": 8}
    assert " ".join(str(plan["text"]).split()) in " ".join(printed.split())  # however wrapped
    assert printed.index("back-to-back module pairs") < printed.index("run 1/10")
    assert shuffled["plan"] is None
    runs = planned["runs"]
    assert isinstance(runs, list)
    assert [r["order"] for r in runs] == ["collected", "reversed"] + ["planned"] * 8
    assert [r["seed"] for r in runs[2:]] == plan_seeds(8, [], int(PLAN_SEED))
    # Each planned order ran exactly as planned, and is kept for replay: its order file and
    # the order its process recorded.
    db = sqlite3.connect(root / ".isoscan" / "isoscan.db")
    for run_id, folder in db.execute("SELECT id, dir FROM runs WHERE ordering = 'planned'"):
        wanted = (Path(folder) / "seg0" / "order.txt").read_text(encoding="utf-8").splitlines()
        ran = [n for (n,) in db.execute(
            "SELECT nodeid FROM executions WHERE run_id = ? ORDER BY segment, seq", (run_id,))]
        assert ran == wanted
    # bisect starts from the latest stored run the victim failed in: a planned one.
    victim = sorted(VICTIMS)[0]
    assert run_cli(["bisect", victim, "tests", "--no-explain", "--json", "bisect.json"]) == 0
    answer = read_json(root / "bisect.json")
    assert answer["polluters"] == [[POLLUTER]]
    assert "planned order" in str(answer["source"])


@pytest.mark.slow
def test_planned_orders_under_xdist_keep_odd_ids_and_hand_out_the_plan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write(tmp_path / "suite", {
        "tests/test_odd.py": """
import pytest

@pytest.mark.parametrize("value", ["a::b", "[x]", "\u00e9t\u00e9 \u2603"])
def test_param(value):
    assert value

def test_été():
    pass

class TestK:
    def test_plain(self):
        pass

    @pytest.mark.parametrize("n", [1, 2])
    def test_in_class(self, n):
        pass
""",
        "tests/test_more.py": fillers("more", 6),
    })
    monkeypatch.chdir(root)
    assert run_cli(["seeds", "tests", "--count", "2", "--workers", "0,2", "--plan-seed", "8",
                    "--json", "r.json"]) == 0
    report = read_json(root / "r.json")
    tests = report["tests"]
    assert isinstance(tests, list)
    collected = [t["nodeid"] for t in tests]
    # A unicode name as it is; pytest escapes non-ASCII parameter ids itself.
    assert "tests/test_odd.py::test_\u00e9t\u00e9" in collected
    assert "tests/test_odd.py::test_param[\\xe9t\\xe9 \\u2603]" in collected
    assert "tests/test_odd.py::test_param[a::b]" in collected
    assert len(collected) == 13
    db = sqlite3.connect(root / ".isoscan" / "isoscan.db")
    planned_runs = list(db.execute(
        "SELECT id, dir, workers FROM runs WHERE ordering = 'planned' AND purpose = 'plan'"))
    assert sorted(w for _, _, w in planned_runs) == [0, 0, 2, 2]
    for run_id, folder, workers in planned_runs:
        order = (Path(folder) / "seg0" / "order.txt").read_text(encoding="utf-8").splitlines()
        assert sorted(order) == sorted(collected)  # every id survived the order file
        by_process: dict[str, list[str]] = {}
        for process, nodeid in db.execute(
                "SELECT process, nodeid FROM executions WHERE run_id = ?"
                " ORDER BY segment, process, seq", (run_id,)):
            by_process.setdefault(process, []).append(nodeid)
        ran = [n for names in by_process.values() for n in names]
        assert sorted(ran) == sorted(order)  # each test once
        if workers == 0:
            assert ran == order
        else:
            # xdist hands the items out in the planned order: each worker's recorded order
            # (the one bisect replays) follows it.
            assert len(by_process) == 2
            for names in by_process.values():
                assert names == sorted(names, key=order.index)
        outcomes = {r for (r,) in db.execute(
            "SELECT outcome FROM results WHERE run_id = ?", (run_id,))}
        assert outcomes == {"passed"}


# -- every test's last-in-class and last-in-module places (issue 24) --

def shaped_ids() -> list[str]:
    """Three modules, each with classes of 2 to 5 tests and two class-less tests."""
    ids = []
    for m, sizes in enumerate([(4, 2, 5), (3, 4), (5, 3, 2, 4)]):
        for c, size in enumerate(sizes):
            ids += [f"tests/test_m{m}.py::TestC{c}::test_{t}" for t in range(size)]
        ids += [f"tests/test_m{m}.py::test_plain_{t}" for t in range(2)]
    return ids


def container(nodeid: str) -> str:
    return "::".join(split_nodeid(nodeid)[:-1])


def ends(order: list[str], key: object) -> set[str]:
    """The tests that end their group (``key`` of a test) in ``order``."""
    last: dict[object, str] = {}
    for nodeid in order:
        last[key(nodeid)] = nodeid  # type: ignore[operator]
    return set(last.values())


def test_every_test_ends_its_class_and_every_class_ends_its_module() -> None:
    ids = shaped_ids()
    orders = [ids, ids[::-1], *plan_orders(ids, 10, 7)]
    in_classes = {t for t in ids if len(split_nodeid(t)) == 3}
    ended_class = set().union(*(ends(o, container) for o in orders))
    assert in_classes <= ended_class
    ended_module = set().union(*(ends(o, module_of) for o in orders))
    classes_ending = {container(t) for t in ended_module if t in in_classes}
    assert classes_ending == {container(t) for t in in_classes}


def failing(order: list[str], polluter: str, cleaners: set[str], victims: set[str]) -> set[str]:
    """The victims that fail in ``order``: run after the polluter with no cleaner between."""
    dirty, failed = False, set()
    for nodeid in order:
        dirty = (dirty or nodeid == polluter) and nodeid not in cleaners
        if dirty and nodeid in victims:
            failed.add(nodeid)
    return failed


def test_a_polluter_among_cleaning_classmates_shows_a_victim() -> None:
    """The issue's first shape: the polluter sits between classmates that reset its state, so
    the collected and the reversed order show nothing; for every plan seed tried, some order
    of 5 planned ones runs it last in its class with one of its 22 victims after it (the
    sweep then finds the rest)."""
    shape = make_shape("classmates clean", 1)
    ((polluter, victims),) = shape.victims.items()
    assert not failing(shape.ids, polluter, shape.cleaners, victims)
    assert not failing(shape.ids[::-1], polluter, shape.cleaners, victims)
    for plan_seed in range(1, 11):
        orders = plan_orders(shape.ids, 5, plan_seed)
        assert any(failing(o, polluter, shape.cleaners, victims) for o in orders), plan_seed


# examples/demo's planted serial cases, by the exact rules of its README ("Exact rules"): per
# process, a victim fails iff its polluter ran earlier in it; the brittle test iff its
# state-setter did not; checkout iff both flag polluters did; prices iff the locale polluter did
# and the cleaner did not run after it; the crash victim ends its process, and the run resumes
# in a fresh one.
DEMO_VICTIMS = {
    "tests/api/v1/test_cache_api.py::test_victim_cache_starts_empty":
        "tests/test_cache_warmup.py::test_polluter_warms_cache",
    "tests/test_greeting.py::TestGreeting::test_victim_default_greeting":
        "tests/test_env_shout.py::test_polluter_sets_shout_style_env",
    "tests/db/test_orders.py::TestOrders::test_victim_counts_all_orders":
        "tests/db/test_orders.py::TestOrders::test_polluter_inserts_orders",
    "tests/test_keys.py::test_victim_key_is_available[na\\xefve/key::1]":
        "tests/api/v1/test_keys_admin.py::test_polluter_reserves_naive_key",
    "tests/net/test_connect.py::test_victim_connect_hangs_after_handshake_required":
        "tests/net/test_handshake_setup.py::test_polluter_requires_handshake",
    "tests/health/test_health_check.py::test_victim_health_check_crashes_in_maintenance":
        "tests/health/test_maintenance_mode.py::test_polluter_enters_maintenance_mode",
}
DEMO_BRITTLE = ("tests/api/test_plugins_api.py::test_brittle_upper_plugin_available",
                "tests/test_plugins_setup.py::test_state_setter_registers_upper_plugin")
DEMO_CHECKOUT = ("tests/features/test_checkout.py::test_victim_checkout_uses_classic_pipeline",
                 {"tests/features/test_alpha_flag.py::test_polluter_a_enables_alpha",
                  "tests/features/test_beta_flag.py::test_polluter_b_enables_beta"})
DEMO_PRICES = ("tests/test_prices.py::test_victim_price_in_dollars",
               "tests/i18n/test_locale_switch.py::test_polluter_switches_locale_to_fr",
               "tests/i18n/test_locale_reset.py::test_cleaner_reset_locale_is_english")


def demo_serial_run(order: list[str]) -> tuple[set[str], set[str]]:
    """(failed, passed) among the demo's planted serial cases in one serial run of ``order``."""
    failed: set[str] = set()
    passed: set[str] = set()
    ran: list[str] = []  # this process's tests so far
    for nodeid in order:
        if nodeid in DEMO_VICTIMS:
            fails = DEMO_VICTIMS[nodeid] in ran
        elif nodeid == DEMO_BRITTLE[0]:
            fails = DEMO_BRITTLE[1] not in ran
        elif nodeid == DEMO_CHECKOUT[0]:
            fails = DEMO_CHECKOUT[1] <= set(ran)
        elif nodeid == DEMO_PRICES[0]:
            fails = DEMO_PRICES[1] in ran and DEMO_PRICES[2] not in ran[ran.index(DEMO_PRICES[1]):]
        else:
            fails = False
        (failed if fails else passed).add(nodeid)
        crashed = fails and nodeid in DEMO_VICTIMS and "crashes" in nodeid
        ran = [] if crashed else [*ran, nodeid]
    return failed, passed


def test_the_demo_plan_shows_every_planted_serial_case_whatever_its_plan_seed() -> None:
    """`make demo` draws a new plan seed each time: its serial runs (the collected, the reversed
    and `--count` planned orders) must show every planted serial case by construction, for any
    plan seed, not by the luck of one. The collected and the reversed order alone do not (the
    crash victim ends the reversed run's process before the cache victim's polluter matters,
    and the brittle test passes in neither): the planned orders are what shows them."""
    makefile = (suitegen.REPO / "Makefile").read_text()
    count = int(makefile.split("isoscan seeds --count ", 1)[1].split()[0])
    collected = collect_ids_once(Suite(paths=("tests",), cwd=suitegen.EXAMPLES / "demo"))
    victims = {*DEMO_VICTIMS, DEMO_CHECKOUT[0], DEMO_PRICES[0], DEMO_BRITTLE[0]}
    assert victims <= set(collected)

    def missed(orders: list[list[str]]) -> set[str]:
        failed: set[str] = set()
        passed: set[str] = set()
        for order in orders:
            run_failed, run_passed = demo_serial_run(order)
            failed |= run_failed
            passed |= run_passed
        # The brittle test needs a run where it passed too (the order its verdict replays).
        return (victims - failed) | ({DEMO_BRITTLE[0]} - passed)

    assert missed([collected, collected[::-1]])  # the plan's own orders are needed
    for plan_seed in range(1, 201):
        orders = [collected, collected[::-1], *plan_orders(collected, count, plan_seed)]
        assert not missed(orders), plan_seed
