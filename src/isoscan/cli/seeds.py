"""``isoscan seeds``: rerun the suite under many orders and worker counts, classify the tests."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from isoscan.cli.options import check_paths, parse_fail_on, pytest_args
from isoscan.cli.progress import ConsoleObserver
from isoscan.confirm import ConfirmOptions
from isoscan.console import to_stderr
from isoscan.plan import build_plan, draw_seeds, parse_workers
from isoscan.pytest_cmd import Suite
from isoscan.render import render_report
from isoscan.report_json import report_document, write_json
from isoscan.seeds import SeedsConfig, run_seeds

HELP = """Rerun the suite under many orders and worker counts; classify every unstable test.

\b
The plan is the collected order, the reversed order and --count pytest-randomly
seeds, each at every worker count of --workers (0 = plain pytest, no xdist).
Every test that failed somewhere is then run alone and its failing order replayed
serially before it gets a verdict: order-dependent, brittle, parallel-only,
non-deterministic, broken or stable.

\b
Everything after a bare -- goes to pytest unchanged, e.g.
  isoscan seeds tests/ -- -k "not slow" -p no:cacheprovider

\b
Exit codes:
  0    no order-dependence found (nothing matching --fail-on)
  1    an order-dependent, brittle or parallel-only test was found (see --fail-on)
  2    usage error: unknown option, bad value, path not found
  3    the suite could not run: collection error, no tests, pytest internal error
  130  interrupted (Ctrl-C); every completed run is kept in the store
"""


@click.command(help=HELP, short_help="Rerun the suite under many orders; classify unstable tests.")
@click.argument("paths", nargs=-1)
@click.option("--count", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many pytest-randomly seeds to run.")
@click.option("--seed", "seeds", type=click.IntRange(min=0), multiple=True,
              help="An explicit pytest-randomly seed (repeatable); with --seed and no --count, "
                   "only the given seeds run.")
@click.option("--workers", default="0", show_default=True,
              help="Comma list of xdist worker counts to run every order at; 0 = no xdist.")
@click.option("--timeout", type=click.FloatRange(min=0), default=120.0, show_default=True,
              help="Per-test timeout in seconds (pytest-timeout); a hung test is marked timeout "
                   "and the rest of the run resumes. 0 disables it.")
@click.option("--replays", type=click.IntRange(min=1, max=50), default=3, show_default=True,
              help="How many times an order is replayed before a verdict is trusted.")
@click.option("--store", "store_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".isoscan"), show_default=True,
              help="Where runs, outcomes and recorded orders are kept (SQLite + JUnit files).")
@click.option("--json", "json_target", metavar="FILE",
              help="Write the isoscan.report/1 JSON report to FILE ('-' for stdout).")
@click.option("--bisect", "bisect_found", is_flag=True,
              help="Bisect every order-dependent and brittle test found; adds polluter / "
                   "state-setter pairs to the table and the JSON report.")
@click.option("--no-fork", is_flag=True,
              help="Run each confirmation trial as a fresh pytest subprocess instead of a fork "
                   "of one collected session (see docs/fork-trials.md).")
@click.option("--fail-on", "fail_on", metavar="KINDS",
              help="Comma list of verdicts that make the exit code 1 "
                   "[default: order-dependent,brittle,parallel-only].")
@click.pass_context
def seeds(ctx: click.Context, paths: tuple[str, ...], count: int, seeds: tuple[int, ...],
          workers: str, timeout: float, replays: int, store_dir: Path, json_target: str | None,
          bisect_found: bool, no_fork: bool, fail_on: str | None) -> int:
    cwd = Path.cwd()
    check_paths(paths, cwd)
    fail_kinds = parse_fail_on(fail_on)
    worker_counts = parse_workers(workers)
    if seeds and ctx.get_parameter_source("count") is ParameterSource.DEFAULT:
        count = 0
    if json_target == "-":
        to_stderr()
    suite = Suite(paths=paths, pytest_args=pytest_args(), cwd=cwd, timeout=timeout or None)
    plan = build_plan(draw_seeds(count, seeds), worker_counts)
    config = SeedsConfig(suite=suite, plan=plan, store_dir=store_dir,
                         confirm=ConfirmOptions(replays=replays), bisect=bisect_found,
                         fork=not no_fork)
    observer = ConsoleObserver()
    try:
        report = run_seeds(config, observer)
    finally:
        observer.close()
    render_report(report)
    if json_target:
        write_json(report_document(report), json_target)
    if report.interrupted:
        return 130
    return report.exit_code(fail_kinds)
