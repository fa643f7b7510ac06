"""``isoscan isolate``: run every collected test alone; list the tests that fail alone."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from isoscan.cli.exit_codes import exit_codes_help
from isoscan.cli.options import begin_command, store_option, suite_of, timeout_option
from isoscan.console import console
from isoscan.errors import ExitCode
from isoscan.execution.cpus import usable_cpus
from isoscan.isolate.workflow import IsolateConfig, report_document, run_isolate
from isoscan.report.json_doc import write_json
from isoscan.report.terminal.isolate import render_isolate
from isoscan.trials.base import TrialMode

HELP = """Run every collected test alone, each in its own fork; list the tests that fail alone.

\b
A test that fails with nothing run before it is broken, or brittle: it passes
only after another test set up state for it. No order of the whole suite shows
that; running each test alone does. isoscan collects the suite once and runs
every test in a fresh fork of that session (--no-fork: a fresh pytest process
per test, slower; see docs/fork-trials.md for what a fork shares). Alone here
is with the whole suite collected: a test that passes alone in its own module
(pytest FILE::TEST) is import-time, not brittle; 'isoscan bisect' tells.

\b
Everything after a bare -- goes to pytest unchanged, e.g.
  isoscan isolate tests/ -- -k "not slow"

""" + exit_codes_help(
    "every test passes (or skips) alone", "some tests fail alone",
    kept="every test that finished alone is kept in the store")


class ConsoleObserver:
    """A transient progress bar on terminals; one line when fork trials are not used."""

    def __init__(self) -> None:
        self.bar = Progress(TextColumn("isolating"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True)
        self.task = self.bar.add_task("", total=None)

    def fallback(self, reason: str) -> None:
        console.print(f"isoscan: not forking: {reason}")

    def started(self, collected: int, mode: TrialMode) -> None:
        how = "a fork" if mode is TrialMode.FORK else "a fresh pytest process"
        console.print(f"Running {collected} tests alone, each in {how}")
        self.bar.update(self.task, total=collected)
        self.bar.start()

    def progress(self, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        self.bar.stop()


@click.command(help=HELP, short_help="Run every test alone; list the tests that fail alone.")
@click.argument("paths", nargs=-1)
@timeout_option("Per-test timeout in seconds (pytest-timeout); a hung test is marked "
                "timeout. 0 disables it.")
@click.option("--no-fork", "no_fork", is_flag=True,
              help="Run each test in a fresh pytest process instead of a fork of one "
                   "collected session (slower; for suites whose import-time state must "
                   "not be shared).")
@click.option("--jobs", type=click.IntRange(min=1), default=usable_cpus(),
              show_default="the CPUs isoscan may run on",
              help="Forks running at once; tests that fail beside others are rechecked "
                   "one at a time, so sharing a file or port cannot make one look brittle.")
@store_option("Where runs, outcomes and recorded orders are kept.")
@click.option("--json", "json_target", metavar="FILE",
              help="Write the isoscan.isolate/1 JSON report to FILE ('-' for stdout).")
def isolate(paths: tuple[str, ...], timeout: float, no_fork: bool, jobs: int, store_dir: Path,
            json_target: str | None) -> int:
    begin_command(paths, json_target)
    suite = suite_of(paths, timeout)
    config = IsolateConfig(suite=suite, store_dir=store_dir, fork=not no_fork, jobs=jobs)
    observer = ConsoleObserver()
    try:
        report = run_isolate(config, observer)
    finally:
        observer.close()
    render_isolate(report)
    if json_target:
        write_json(report_document(report), json_target)
    if report.interrupted:
        return ExitCode.INTERRUPTED
    return report.exit_code()
