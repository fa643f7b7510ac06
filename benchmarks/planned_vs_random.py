"""Share of planted victims that `isoscan seeds --count N` finds with planned orders, with
pytest-randomly seeds (`--random`), and with planned orders plus the polluter sweep
(`seeds --bisect`), on generated suites where cleaners hide the victims; and what each costs.

Part 1, simulated (100 repetitions per row, seconds):
- real: the orders. Planned orders come from isoscan's planner (`seeds/planner.py`, the code
  `isoscan seeds` runs) on the generated suite's node ids. Random orders are pytest-randomly
  5.1's own shuffle, reproduced exactly (modules sorted by crc32 of "seed::module", classes
  and tests inside them by crc32 of "seed::name"), for the seeds `--random --plan-seed S`
  draws. Both plans include the collected and the reversed order, as `seeds` always runs.
- simulated: pytest. An oracle walks each order serially with one flag per polluter: a
  polluter sets it, one of its cleaners clears it, a victim run while it is set fails.

Part 2, real (`--real-suites`, default 3 suites per shape, a few minutes): each shape of
tests/pollution_shapes.py is written to disk (each test taking 5 ms), and every order of both
plans runs as a fork trial: real pytest, in a fork of one collected session. A victim counts
as found when it fails in some order of the plan. For planned + sweep, each polluter with a
victim found is swept for real (`seeds/sweep.py`, the code `seeds --bisect` runs after its
bisect names the polluter; the bisect itself is not run here), its new victims confirmed by
the --confidence 0.99 rule. Costs: a plan costs its orders (full runs); the sweep, its test
time over a full run's (the collected order's), and its trials. The oracle of part 1 is
checked against every order part 2 runs.

Suites of part 1 (fresh per repetition):
- polluter-module cleaner: a cleaner sits next to the polluter in its module; 6 victims
  anywhere else;
- victim-module cleaner: the victims' module also holds a cleaner; 3 victims there, 3 more
  elsewhere;
- between-modules cleaner: a module of its own holds a cleaner; 6 victims elsewhere;
- mixed: all three cleaners for one polluter, plus a second polluter with a cleaner beside it
  and its own 3 victims;
- the four shapes of tests/pollution_shapes.py: classmates clean, resets in setUp, several
  polluters, victims spread.

Goals checked (exit 1 when one is not met): planned >= random in every simulated row; with
the sweep, every victim of a polluter found once one of them is; every sweep within its bound;
no failure of a test no polluter breaks; the oracle agrees with pytest on every order.
Run: `python benchmarks/planned_vs_random.py [--repetitions N] [--real-suites N]`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from pollution_shapes import SHAPES, Shape, make_shape

from isoscan.bisect.explained import explain_answer
from isoscan.execution.argv import Suite as RunSuite
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.model.confidence import Rule
from isoscan.model.status import Command, RunPurpose
from isoscan.model.sweep import SWEEP_FLOOR, SWEEP_RUNS
from isoscan.seeds.grouping import module_of, split_nodeid
from isoscan.seeds.planner import plan_orders
from isoscan.seeds.shard import plan_seeds
from isoscan.seeds.sweep import module_reader, rank_candidates, state_of, sweep_polluter
from isoscan.store.db import Store
from isoscan.trials.factory import make_trials

BUDGETS = (5, 10, 20)
REPETITIONS = 100
REAL_SUITES = 3
WORK_MS = 5.0  # each test of a real suite takes this long


@dataclass
class Suite:
    ids: list[str]
    modules: int
    # polluter -> (its cleaners, its victims)
    bugs: dict[str, tuple[set[str], set[str]]] = field(default_factory=dict)

    @property
    def victims(self) -> int:
        return sum(len(v) for _, v in self.bugs.values())


def modules_of(rng: random.Random, smallest: int = 2, fewest: int = 5) -> list[list[str]]:
    """fewest-10 modules of smallest-6 tests; a third of the modules hold their tests in a
    class."""
    modules = []
    for m in range(rng.randint(fewest, 10)):
        prefix = f"tests/test_m{m}.py::" + ("TestThings::" if rng.random() < 0.33 else "")
        modules.append([f"{prefix}test_{t}" for t in range(rng.randint(smallest, 6))])
    return modules


def pick(rng: random.Random, tests: list[str], k: int, taken: set[str]) -> set[str]:
    chosen = set(rng.sample([t for t in tests if t not in taken], k))
    taken |= chosen
    return chosen


def outside(modules: list[list[str]], *excluded: list[str]) -> list[str]:
    return [t for m in modules if not any(m is e for e in excluded) for t in m]


def polluter_module_cleaner(rng: random.Random) -> Suite:
    modules = modules_of(rng)
    home = rng.choice(modules)
    taken: set[str] = set()
    polluter = pick(rng, home, 1, taken).pop()
    cleaners = pick(rng, home, 1, taken)
    suite = Suite([t for m in modules for t in m], len(modules))
    suite.bugs[polluter] = (cleaners, pick(rng, outside(modules, home), 6, taken))
    return suite


def victim_module_cleaner(rng: random.Random) -> Suite:
    modules = modules_of(rng)
    home, target = rng.sample(modules, 2)
    taken: set[str] = set()
    polluter = pick(rng, home, 1, taken).pop()
    cleaners = pick(rng, target, 1, taken)
    victims = pick(rng, target, min(3, len(target) - 1), taken)
    victims |= pick(rng, outside(modules, home, target), 3, taken)
    suite = Suite([t for m in modules for t in m], len(modules))
    suite.bugs[polluter] = (cleaners, victims)
    return suite


def between_modules_cleaner(rng: random.Random) -> Suite:
    modules = modules_of(rng)
    home, between = rng.sample(modules, 2)
    taken: set[str] = set()
    polluter = pick(rng, home, 1, taken).pop()
    cleaners = pick(rng, between, 1, taken)
    suite = Suite([t for m in modules for t in m], len(modules))
    suite.bugs[polluter] = (cleaners, pick(rng, outside(modules, home, between), 6, taken))
    return suite


def mixed(rng: random.Random) -> Suite:
    modules = modules_of(rng, smallest=3, fewest=6)
    home, target, between, home2 = rng.sample(modules, 4)
    taken: set[str] = set()
    polluter = pick(rng, home, 1, taken).pop()
    cleaners = pick(rng, home, 1, taken) | pick(rng, target, 1, taken) | \
        pick(rng, between, 1, taken)
    victims = pick(rng, target, 1, taken) | pick(rng, outside(modules, home, between), 3, taken)
    polluter2 = pick(rng, home2, 1, taken).pop()
    cleaners2 = pick(rng, home2, 1, taken)
    victims2 = pick(rng, outside(modules, home2), 3, taken)
    suite = Suite([t for m in modules for t in m], len(modules))
    suite.bugs[polluter] = (cleaners, victims)
    suite.bugs[polluter2] = (cleaners2, victims2)
    return suite


def from_shape_once(shape: Shape) -> Suite:
    suite = Suite(shape.ids, len({module_of(t) for t in shape.ids}))
    suite.bugs = {p: (shape.cleaners, set(v)) for p, v in shape.victims.items()}
    return suite


def from_shape(name: str) -> Callable[[random.Random], Suite]:
    """A shape of tests/pollution_shapes.py (the suites the real runs write), for the oracle:
    its cleaners reset every polluter's state."""
    def make(rng: random.Random) -> Suite:
        return from_shape_once(make_shape(name, rng.randrange(1 << 30)))
    return make


SCENARIOS: dict[str, Callable[[random.Random], Suite]] = {
    "polluter-module cleaner": polluter_module_cleaner,
    "victim-module cleaner": victim_module_cleaner,
    "between-modules cleaner": between_modules_cleaner,
    "mixed (2 polluters)": mixed,
    **{name: from_shape(name) for name in SHAPES},
}


def crc32(text: str) -> int:
    return zlib.crc32(text.encode(errors="surrogatepass"))


def randomly_order(ids: list[str], seed: int) -> list[str]:
    """pytest-randomly 5.1's `_reorganize_items`: modules by crc32("seed::module name"), in
    each module its classes (and its class-less tests as one group) by crc32 of
    "seed::module.Class" (or "seed::None"), tests inside by crc32("seed::nodeid")."""
    def cls(nodeid: str) -> str | None:
        parts = split_nodeid(nodeid)
        return "::".join(parts[:-1]) if len(parts) > 2 else None

    modules = []
    for module, tests in groupby(ids, module_of):
        classes = []
        for klass, members in groupby(tests, cls):
            key = (crc32(f"{seed}::None") if klass is None else
                   crc32(f"{seed}::{klass.replace('/', '.').replace('.py::', '.')}"))
            classes.append((key, sorted(members, key=lambda t: crc32(f"{seed}::{t}"))))
        classes.sort(key=lambda c: c[0])
        name = module.removesuffix(".py").replace("/", ".")
        modules.append((crc32(f"{seed}::{name}"), [t for _, ts in classes for t in ts]))
    modules.sort(key=lambda m: m[0])
    return [t for _, ts in modules for t in ts]


def found(suite: Suite, orders: list[list[str]]) -> set[str]:
    """The oracle: victims that fail in some order, each polluter's flag walked serially."""
    failed: set[str] = set()
    for order in orders:
        for polluter, (cleaners, victims) in suite.bugs.items():
            dirty = False
            for test in order:
                if test == polluter:
                    dirty = True
                elif test in cleaners:
                    dirty = False
                elif dirty and test in victims:
                    failed.add(test)
    return failed


@dataclass
class Row:
    suite: str
    budget: int
    planted: int = 0
    planned: int = 0  # victims found
    random: int = 0
    suites_within: int = 0  # suites with no more modules than --count
    all_planned: int = 0  # ...in which the plan found every victim
    all_random: int = 0

    def share(self, found: int) -> str:
        return f"{found / self.planted:.0%}"


def measure_row(name: str, make: Callable[[random.Random], Suite], budget: int,
                repetitions: int) -> Row:
    row = Row(name, budget)
    for rep in range(1, repetitions + 1):
        suite = make(random.Random(f"{name}:{rep}"))
        base = [suite.ids, suite.ids[::-1]]
        planned = len(found(suite, base + plan_orders(suite.ids, budget, rep)))
        shuffled = len(found(suite, base + [randomly_order(suite.ids, seed)
                                            for seed in plan_seeds(budget, [], rep)]))
        row.planted += suite.victims
        row.planned += planned
        row.random += shuffled
        if budget >= suite.modules:
            row.suites_within += 1
            row.all_planned += planned == suite.victims
            row.all_random += shuffled == suite.victims
    return row


# -- real pytest runs -------------------------------------------------------------------------
@dataclass
class RealRow:
    shape: str
    budget: int
    planted: int = 0
    random: int = 0
    planned: int = 0
    swept: int = 0  # planned + sweep
    sweep_runs: float = 0.0  # sweep test time, in full runs' worth, summed over suites
    sweep_trials: int = 0  # sweep trials, summed over suites
    confirm_trials: int = 0  # trials confirming the sweep's new victims by the rule
    orders: int = 0  # orders run, for the oracle check
    oracle_disagrees: int = 0  # orders where the simulation's failures differ from pytest's
    suites: int = 0
    within_bound: bool = True
    all_when_one: bool = True  # every victim of a polluter found once one of them is
    false_alarms: int = 0  # failures of tests no polluter breaks

    def share(self, found: int) -> str:
        return f"{found / self.planted:.0%}"


def real_rows(suites: int) -> list[RealRow]:
    """Each shape written to disk `suites` times; every order run as a fork trial (a real
    pytest run of the order in a fork of one collected session); the sweep run for real."""
    rows = {(shape, budget): RealRow(shape, budget) for shape in SHAPES for budget in BUDGETS}
    for shape_name in SHAPES:
        for number in range(1, suites + 1):
            measure_real(shape_name, number, rows)
    return list(rows.values())


def measure_real(shape_name: str, number: int, rows: dict[tuple[str, int], RealRow]) -> None:
    shape = make_shape(shape_name, number)
    with tempfile.TemporaryDirectory(prefix="isoscan-shapes-") as work:
        root = shape.write(Path(work) / "suite", work_ms=WORK_MS)
        suite = RunSuite(cwd=root, timeout=60)
        store = Store(Path(work) / "store")
        runner = make_trials(suite, store, store.begin_suite_session(Command.SEEDS, suite),
                             RunPurpose.CONFIRM, True)
        try:
            ids = runner.collected() or []
            assert sorted(ids) == sorted(shape.ids), "the shape's ids are not what pytest collects"
            full = runner.run(ids)
            durations = {t: r.duration for t, r in store.results(full.run_id or 0).items()}
            base = [ids, ids[::-1]]
            planned = base + plan_orders(ids, max(BUDGETS), number)
            shuffled = base + [randomly_order(ids, seed)
                               for seed in plan_seeds(max(BUDGETS), [], number)]
            oracle = from_shape_once(shape)
            failed = {}
            disagree = 0
            for order in {tuple(o) for o in planned + shuffled}:
                trial = runner.run(list(order))
                failed[order] = {t for t, o in trial.outcomes.items() if o.is_failure}
                disagree += failed[order] != found(oracle, [list(order)])
            rows[(shape_name, BUDGETS[0])].orders += len(failed)
            rows[(shape_name, BUDGETS[0])].oracle_disagrees += disagree
            sweeps: dict[str, tuple[set[str], float, int, int, bool]] = {}
            planted = shape.all_victims
            for budget in BUDGETS:
                row = rows[(shape_name, budget)]
                by_plan = set().union(*(failed[tuple(o)] for o in planned[:budget + 2]))
                by_random = set().union(*(failed[tuple(o)] for o in shuffled[:budget + 2]))
                caught = by_plan & planted
                row.false_alarms += len((by_plan | by_random) - planted)
                for polluter, victims in shape.victims.items():
                    if not victims & by_plan:
                        continue
                    if polluter not in sweeps:
                        # As `seeds --bisect` does: explain names the state from a victim
                        # found, its terms rank the candidates.
                        victim = sorted(victims & by_plan)[0]
                        answer = BisectResult(victim, BisectKind.VICTIM, polluters=[[polluter]])
                        state, terms = state_of(explain_answer(
                            suite, answer, Path(work) / "store", runner, print))
                        candidates = rank_candidates([t for t in ids if t != polluter], terms,
                                                     [victim], module_reader(root))
                        sweep, _ = sweep_polluter([polluter], None, candidates, runner, Rule(),
                                                  durations, state=state)
                        sweeps[polluter] = (set(sweep.victims), sweep.runs_spent or 0.0,
                                            sweep.trials, sweep.confirm_trials,
                                            sweep.test_seconds <= sweep.budget_seconds)
                    victims_swept, runs, trials, confirms, within = sweeps[polluter]
                    caught |= victims_swept
                    row.sweep_runs += runs
                    row.sweep_trials += trials
                    row.confirm_trials += confirms
                    row.within_bound &= within
                    row.all_when_one &= victims <= caught
                row.planted += len(planted)
                row.planned += len(by_plan & planted)
                row.random += len(by_random & planted)
                row.swept += len(caught)
                row.suites += 1
        finally:
            runner.close()
            store.close()


def print_real(rows: list[RealRow]) -> bool:
    print("\nReal pytest runs (fork trials of each order; the sweep run for real, its new "
          "victims confirmed by the --confidence 0.99 rule):\n")
    print("| suite | --count | random | planned | planned + sweep | cost of random, planned "
          "(full runs) | + the sweep (full runs of test time) | sweep trials + confirming |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        share = r.share
        print(f"| {r.shape} | {r.budget} | {share(r.random)} | {share(r.planned)} | "
              f"{share(r.swept)} | {r.budget + 2} | +{r.sweep_runs / r.suites:.2f} | "
              f"{r.sweep_trials / r.suites:.0f} + {r.confirm_trials / r.suites:.0f} |")
    behind = [f"{r.shape} --count {r.budget}" for r in rows if r.planned < r.random]
    partial = [f"{r.shape} --count {r.budget}" for r in rows if not r.all_when_one]
    over = [f"{r.shape} --count {r.budget}" for r in rows if not r.within_bound]
    alarms = sum(r.false_alarms for r in rows)
    orders, disagree = sum(r.orders for r in rows), sum(r.oracle_disagrees for r in rows)
    print(f"\n{rows[0].suites} suites per shape, each test taking {WORK_MS:g} ms; {alarms} "
          f"failures of tests no polluter breaks. The simulation's oracle gave other failures "
          f"than pytest in {disagree} of {orders} orders run.")
    print("real: planned >= random in every row (few suites: the simulated rows above, checked "
          "order by order against these runs, carry this goal): "
          + ("met" if not behind else "NOT met: " + "; ".join(behind)))
    print("real: with the sweep, every victim of a polluter found once one of them is: "
          + ("met" if not partial else "NOT met: " + "; ".join(partial)))
    print(f"real: every sweep within its bound ({SWEEP_RUNS:g} full runs of test time, at least "
          f"{SWEEP_FLOOR:g} s): " + ("met" if not over else "NOT met: " + "; ".join(over)))
    return not partial and not over and not alarms and not disagree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repetitions", type=int, default=REPETITIONS)
    parser.add_argument("--real-suites", type=int, default=REAL_SUITES,
                        help="suites of each shape run for real (0: the simulation only)")
    args = parser.parse_args()
    repetitions = args.repetitions
    started = time.perf_counter()
    rows = [measure_row(name, make, budget, repetitions)
            for name, make in SCENARIOS.items() for budget in BUDGETS]
    print("| suite | --count | planned | random | every victim found, suites with at most "
          "--count modules: planned / random |")
    print("|---|---|---|---|---|")
    for row in rows:
        within = (f"{row.all_planned}/{row.suites_within} / {row.all_random}/"
                  f"{row.suites_within}" if row.suites_within else "none")
        print(f"| {row.suite} | {row.budget} | {row.share(row.planned)} | "
              f"{row.share(row.random)} | {within} |")
    print(f"\n{repetitions} repetitions per row, {time.perf_counter() - started:.1f} s.")
    behind = [f"{r.suite} --count {r.budget} ({r.share(r.planned)} < {r.share(r.random)})"
              for r in rows if r.planned < r.random]
    missed = [f"{r.suite} --count {r.budget} ({r.all_planned}/{r.suites_within})"
              for r in rows if not r.suite.startswith("mixed")
              and r.all_planned < r.suites_within]
    print("planned >= random at every budget: "
          + ("met" if not behind else "NOT met: " + "; ".join(behind)))
    print("(not a goal; the sweep's) every victim of a single polluter once --count >= modules: "
          + ("met" if not missed else "NOT met: " + "; ".join(missed)))
    real_ok = True
    if args.real_suites:
        started = time.perf_counter()
        real_ok = print_real(real_rows(args.real_suites))
        print(f"real runs: {time.perf_counter() - started:.1f} s.")
    return 0 if not behind and real_ok else 1


if __name__ == "__main__":
    sys.exit(main())
