"""``isoscan seeds``: rerun the suite under many orders and worker counts, classify the tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click
from click.core import ParameterSource

from isoscan.cli.exit_codes import exit_codes_help
from isoscan.cli.latent import show_latent_polluters
from isoscan.cli.options import (
    begin_command,
    confidence_option,
    confirmation_rule,
    parse_fail_on,
    store_option,
    suite_of,
    timeout_option,
)
from isoscan.cli.outputs import OutputOptions, finish_report, output_options
from isoscan.cli.progress import ConsoleObserver
from isoscan.console import console
from isoscan.errors import ExitCode
from isoscan.model.confidence import DEFAULT_CAP
from isoscan.report.terminal.seeds import render_latent_sweeps, render_report
from isoscan.seeds.class_order import KEEP_CLASS_ORDER
from isoscan.seeds.confirm import ConfirmOptions
from isoscan.seeds.plan import make_plan
from isoscan.seeds.planned_runs import OrderSource, parse_workers
from isoscan.seeds.sweep import sweep_latent
from isoscan.seeds.workflow import SeedsConfig, run_seeds

HELP = """Rerun the suite under many orders and worker counts; classify every unstable test.

\b
The plan is the collected order, the reversed order and --count planned orders,
each at every worker count of --workers (0 = plain pytest, no xdist). Planned
orders run as many not-yet-run pairs of tests back to back as they can (modules
kept whole): a polluter right before its victim shows it whatever cleaners the
suite has. They also rotate which class ends each module and which test ends
each class, so a polluter gets past classmates that clean up after it. The plan
says what it covers before the runs start. --random draws pytest-randomly seeds
instead. pytest-randomly still reseeds `random` per test.

\b
With --bisect, each verified polluter is then swept: run right before every
other test, so every victim it breaks is found, and the report gives one line
per cause ("`tests/a.py::test_bad_id` breaks 22 tests (global `pkg.id_type`)").

\b
Every test that failed somewhere is then run alone and its failing order replayed
serially before it gets a verdict: order-dependent, brittle, parallel-only,
import-time, non-deterministic, broken or stable.

\b
Two kinds of alone: isoscan's trials run a test alone with the whole suite
collected (that is how suites run, so order searches use it). A test that fails
that way is also run alone in its own module, in a fresh process, as
`pytest FILE::TEST` runs it. Passing there makes it import-time, not brittle:
collecting another test module breaks it. isoscan names the fewest such modules
and what their import changes ("fails when tests/b/test_x.py is collected:
importing tests/helpers/net.py rebinds lib.network"), with two commands that
show it.

\b
Everything after a bare -- goes to pytest unchanged, e.g.
  isoscan seeds tests/ -- -k "not slow" -p no:cacheprovider

\b
Across CI jobs: --shard K/N runs every N-th planned run from run K, so N jobs
cover the plan once; they must plan the same orders, so give --plan-seed (e.g.
the CI run id) or --seed. Merge the jobs' stores with 'isoscan report --merge'.

""" + exit_codes_help(
    "no order-dependence found (nothing matching --fail-on)",
    "an order-dependent, brittle, parallel-only or import-time test was found,\n"
    "or a failing test its confirmation trials could not run (unconfirmed;\n"
    "see --fail-on)",
    kept="every completed run is kept in the store")


@click.command(help=HELP, short_help="Rerun the suite under many orders; classify unstable tests.")
@click.argument("paths", nargs=-1)
@click.option("--count", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many orders to plan for pair coverage (with --random: how many "
                   "pytest-randomly seeds to draw).")
@click.option("--random", "random_orders", is_flag=True,
              help="Draw the --count orders as pytest-randomly seeds instead of planning them.")
@click.option("--seed", "seeds", type=click.IntRange(min=0), multiple=True,
              help="An explicit pytest-randomly seed (repeatable); with --seed and no --count, "
                   "only the given seeds run.")
@click.option("--workers", default="0", show_default=True,
              help="Comma list of xdist worker counts to run every order at; 0 = no xdist.")
@timeout_option("Per-test timeout in seconds (pytest-timeout); a hung test is marked timeout "
                "and the rest of the run resumes. Once a test has timed out, later runs stop it "
                "at an early bound (10x its slowest pass, at least 1s), marked timeout-early; a "
                "verdict resting on a hang is confirmed once with the full timeout. 0 disables "
                "it.")
@confidence_option()
@click.option("--replays", type=click.IntRange(min=1, max=50), default=DEFAULT_CAP,
              show_default=True,
              help="At most this many replays of an order (and runs alone) per verdict; the "
                   "rule of --confidence usually stops far sooner. Below what --confidence "
                   "needs, verdicts state the weaker bound they reached.")
@store_option("Where runs, outcomes and recorded orders are kept (SQLite + JUnit files).")
@click.option("--json", "json_target", metavar="FILE",
              help="Write the isoscan.report/1 JSON report to FILE ('-' for stdout).")
@click.option("--bisect", "bisect_found", is_flag=True,
              help="Bisect every order-dependent, brittle and parallel-only test found, and "
                   "each import-time test in its own-module frame (an ordinary polluter beside "
                   "the import); adds polluter / state-setter / culprit pairs to the table and "
                   "the JSON report, then sweeps each polluter found (see --sweep) and groups "
                   "its victims, one line per cause.")
@click.option("--sweep/--no-sweep", default=True, show_default=True,
              help="With --bisect: run each verified polluter right before every other test "
                   "(one fork trial each, within three full runs of test time, at least 1s) and "
                   "confirm each new victim by the --confidence rule.")
@click.option("--no-fork", is_flag=True,
              help="Run each confirmation trial as a fresh pytest subprocess instead of a fork "
                   "of one collected session (see docs/fork-trials.md).")
@click.option("--fail-on", "fail_on", metavar="KINDS",
              help="Comma list of verdicts that make the exit code 1 "
                   "[default: order-dependent,brittle,parallel-only,import-time,unconfirmed].")
@click.option("--shard", metavar="K/N",
              help="Run only the K-th of N slices of the plan (CI job K of N); see above.")
@click.option("--plan-seed", type=click.IntRange(min=0), metavar="N",
              help="Plan the --count orders (and draw their seeds) from N instead of at "
                   "random: every job with the same N plans the same runs. Needed with "
                   "--shard and --count.")
@click.option("--keep-class-order", is_flag=True,
              help="Keep each test class's methods in their collected order in every planned, "
                   "random and reversed order, shuffling modules, classes and functions as "
                   "before: for suites whose classes depend on their own method order.")
@click.option("--track-state", is_flag=True,
              help="Then run the suite once more, serially, snapshotting process state around "
                   "every test, and list the tests that leave state changed (latent "
                   "polluters), apart from the verdicts. With --bisect (and --sweep), each "
                   "latent polluter is swept too, as a suspected polluter.")
@output_options
@click.pass_context
def seeds(ctx: click.Context, paths: tuple[str, ...], count: int, random_orders: bool,
          seeds: tuple[int, ...], workers: str, timeout: float, confidence: float,
          replays: int, store_dir: Path,
          json_target: str | None,
          bisect_found: bool, sweep: bool, no_fork: bool, fail_on: str | None, shard: str | None,
          plan_seed: int | None, outputs: OutputOptions, track_state: bool,
          keep_class_order: bool) -> int:
    begin_command(paths, json_target)
    fail_kinds = parse_fail_on(fail_on)
    worker_counts = parse_workers(workers)
    if seeds and ctx.get_parameter_source("count") is ParameterSource.DEFAULT:
        count = 0
    suite = suite_of(paths, timeout)
    if keep_class_order:  # every run of the session, replays and bisects too
        suite = replace(suite, pytest_args=(*suite.pytest_args, KEEP_CLASS_ORDER))
    rule = confirmation_rule(confidence, replays)
    plan = make_plan(suite, count, seeds, worker_counts, shard=shard, plan_seed=plan_seed,
                     source=OrderSource.RANDOM if random_orders else OrderSource.PLANNED,
                     collecting=lambda: console.print(f"Collecting the tests to plan {count} "
                                                      "orders (--random draws seeds instead)"),
                     keep_class_order=keep_class_order)
    config = SeedsConfig(suite=suite, plan=plan.runs, store_dir=store_dir,
                         confirm=ConfirmOptions(rule.confidence, rule.cap),
                         bisect=bisect_found, sweep=sweep,
                         fork=not no_fork, coverage=plan.coverage)
    observer = ConsoleObserver()
    try:
        report = run_seeds(config, observer)
    finally:
        observer.close()
    render_report(report)
    if track_state and not report.interrupted:
        track = show_latent_polluters(suite, store_dir, report.session_id)
        if bisect_found and sweep and track.polluters:
            latent = sweep_latent(report, track, suite=suite, store_dir=store_dir, rule=rule,
                                  fork=not no_fork, notice=console.print)
            render_latent_sweeps(report, latent.sweeps)
    code = finish_report(report, fail_kinds, outputs, json_target)
    return ExitCode.INTERRUPTED if report.interrupted else code
