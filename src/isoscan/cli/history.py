"""``isoscan history``: per-test failure rates across every stored run, oldest first."""

from __future__ import annotations

import difflib
import time
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from isoscan.cli.exit_codes import exit_codes_help
from isoscan.cli.options import store_option
from isoscan.console import console
from isoscan.errors import ExitCode, UsageError
from isoscan.report.cells import CELL
from isoscan.report.foreign_junit import is_store
from isoscan.report.sources import NothingToReport
from isoscan.store.db import Store
from isoscan.store.history import History, all_nodeids, load_history

HELP = """Failure rates per test across every run the store has kept, oldest session first.

\b
Only plan runs count (the orders 'isoscan seeds' ran); confirmation and bisect
trials are made to fail, so they are left out. Each session shows the commit
(git HEAD) it ran on, when the suite was in a git repository.

\b
  isoscan history                       tests that failed at least once
  isoscan history tests/test_x.py::test_y   one test, run by run

""" + exit_codes_help(
    "history shown", usage="usage error: unknown option, a NODEID the store never ran",
    cannot_run="no store, or no completed runs in it", interruptible=False)

MAX_COLUMNS = 12  # sessions shown as columns; older ones still count in the totals


@click.command(help=HELP, short_help="Per-test failure rates across stored runs, with commits.")
@click.argument("nodeid", required=False)
@store_option("The store to read.")
@click.option("--all", "show_all", is_flag=True, help="Also list tests that never failed.")
def history(nodeid: str | None, store_dir: Path, show_all: bool) -> int:
    if not is_store(store_dir):
        raise NothingToReport(f"no isoscan store at {store_dir} (run 'isoscan seeds' first)")
    store = Store(store_dir)
    try:
        if nodeid is not None and nodeid not in all_nodeids(store):
            close = difflib.get_close_matches(nodeid, all_nodeids(store), n=3, cutoff=0.5)
            hint = f"; did you mean: {', '.join(close)}" if close else ""
            raise UsageError(f"no stored run has test {nodeid!r}{hint}")
        found = load_history(store, nodeid)
    finally:
        store.close()
    if not found.runs:
        raise NothingToReport(f"{store_dir}: no completed runs stored yet")
    _sessions(found)
    if nodeid is not None:
        _one_test(found, nodeid)
    else:
        _all_tests(found, show_all)
    return ExitCode.OK


def _when(started: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(started))


def _sessions(found: History) -> None:
    console.print(f"{len(found.sessions)} sessions, {len(found.runs)} plan runs (oldest first):")
    for s in found.sessions:
        head = (s.git_head or "-")[:10]
        console.print(f"  s{s.id:<4} {_when(s.started)}  {head:<10}  {s.command:<8} "
                      f"{len(s.runs)} runs  {s.status}")
    console.print()


def _rate(failed: int, ran: int) -> str:
    return f"{100 * failed / ran:.0f}%" if ran else "-"


def _all_tests(found: History, show_all: bool) -> None:
    shown = found.sessions[-MAX_COLUMNS:]
    rows = []
    for nodeid in found.tests:
        failed, ran = found.rate(nodeid)
        if failed or show_all:
            rows.append((failed / ran if ran else 0.0, nodeid, failed, ran))
    if not rows:
        console.print(f"No test failed in any of the {len(found.runs)} stored plan runs.")
        return
    table = Table(title="Failure rate per test (sessions oldest → newest)",
                  title_justify="left")
    table.add_column("test", overflow="fold")
    table.add_column("failed", justify="right", no_wrap=True)
    table.add_column("rate", justify="right", no_wrap=True)
    for s in shown:
        table.add_column(f"s{s.id}", justify="right", no_wrap=True)
    for _, nodeid, failed, ran in sorted(rows, key=lambda r: (-r[0], r[1])):
        cells = []
        for s in shown:
            f, r = found.tests[nodeid].counts(s.runs)
            cells.append(Text(f"{f}/{r}" if r else "-", style="bold red" if f else "dim"))
        table.add_row(nodeid, f"{failed}/{ran}", _rate(failed, ran), *cells)
    console.print(table)


def _one_test(found: History, nodeid: str) -> None:
    test = found.tests[nodeid]
    failed, ran = found.rate(nodeid)
    console.print(f"{nodeid}: failed {failed} of {ran} plan runs ({_rate(failed, ran)})")
    table = Table(box=None, pad_edge=False)
    for name in ("session", "started", "commit", "failed", "runs (oldest → newest)"):
        table.add_column(name, no_wrap=True)
    for s in found.sessions:
        f, r = test.counts(s.runs)
        cells = Text()
        for run_id in s.runs:
            char, style = CELL[test.outcomes[run_id]] if run_id in test.outcomes else CELL_NOT_RUN
            cells.append(char, style=style)
        table.add_row(f"s{s.id}", _when(s.started), (s.git_head or "-")[:10],
                      f"{f}/{r}" if r else "-", cells)
    console.print(table)
    console.print("cells: . passed  F failed  E error  C crashed  T timeout  s skipped  - not run",
                  style="dim")


CELL_NOT_RUN = ("-", "dim")
