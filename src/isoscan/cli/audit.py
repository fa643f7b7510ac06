"""``isoscan audit``: which tests will collide under ``pytest -n N``, through what, and the fix."""

from __future__ import annotations

from pathlib import Path

import click

from isoscan.audit.document import audit_document
from isoscan.audit.model import Dist
from isoscan.audit.workflow import AuditConfig, run_audit
from isoscan.cli.exit_codes import exit_codes_help
from isoscan.cli.options import (
    begin_command,
    confidence_option,
    confirmation_rule,
    store_option,
    suite_of,
    timeout_option,
)
from isoscan.console import console
from isoscan.errors import ExitCode
from isoscan.report.json_doc import write_json
from isoscan.report.terminal.audit import render_audit
from isoscan.report.terminal.bisect import StepPrinter
from isoscan.report.writers.audit_html import audit_html
from isoscan.report.writers.audit_markdown import audit_markdown
from isoscan.trials.base import TrialMode

HELP = """Before turning on pytest -n: find which tests will break each other in parallel,
through which outside resource, and prove each collision by forcing the overlap.

\b
1. One serial run (a fork of the collected session) records what every test
   touches: files, SQLite databases, ports, programs, tables read and written in
   PostgreSQL and SQLite (statements seen at sqlite3, psycopg, psycopg2 and
   SQLAlchemy), Redis keys (redis-py), HTTP endpoints (urllib, requests, httpx),
   and whether it leaves rows, keys or files behind.
2. Pairs of tests that can run on different workers (--dist) and share a
   resource one of them changes are the candidates, most likely first.
3. Each pair runs side by side, each test in a process of its own, with their
   starts forced to overlap; a test that fails there is confirmed by the stated
   rule (fails beside the other k of n, passes alone n of n) and reported like a
   parallel-only bisect answer: victim, culprit, resource, fix, replay command.
   Pairs that never fail are listed as "shared, not seen to collide". Pairs
   that share nothing with each other replay at the same time, at most
   --workers processes at once.
4. The table per resource: who writes, reads, leaves data, collided.

\b
No change to the suite is needed. Everything after a bare -- goes to pytest.

""" + exit_codes_help(
    "no collision confirmed", "collisions confirmed (the gate; --no-gate: always 0)",
    kept="every replay so far is kept in the store; the answer covers the pairs done")


class ConsoleObserver(StepPrinter):
    def fallback(self, reason: str) -> None:
        console.print(f"isoscan: not forking: {reason}")

    def started(self, collected: int, mode: TrialMode) -> None:
        how = "forks of one collected session" if mode is TrialMode.FORK else \
            "fresh pytest processes"
        console.print(f"Auditing {collected} tests ({how})")


@click.command(help=HELP, short_help="Find and prove the collisions -n N will have.")
@click.argument("paths", nargs=-1)
@click.option("--workers", type=click.IntRange(min=2), default=8, show_default=True,
              help="The xdist workers the suite is meant to run on (2 or more): the replays "
                   "run at most this many processes at once, each lane a worker gw0..gwN-1 "
                   "of -n N; 2 replays one pair at a time.")
@click.option("--dist", type=click.Choice([d.value for d in Dist]), default=Dist.LOAD.value,
              show_default=True,
              help="xdist's --dist: with loadscope or loadfile, tests of one module (class, "
                   "file) stay on one worker and are never paired.")
@click.option("--pairs", "max_pairs", type=click.IntRange(min=0), default=200,
              show_default=True, help="Candidate pairs replayed at most, most likely first.")
@timeout_option("Per-test timeout in seconds (pytest-timeout); 0 disables it.")
@confidence_option()
@click.option("--no-fork", "no_fork", is_flag=True,
              help="A fresh pytest process per lane instead of forks of one collected "
                   "session (slower).")
@click.option("--no-gate", "no_gate", is_flag=True,
              help="Exit 0 even when collisions are confirmed.")
@store_option("Where runs, outcomes and replay files are kept.")
@click.option("--json", "json_target", metavar="FILE",
              help="Write the isoscan.audit/1 JSON report to FILE ('-' for stdout).")
@click.option("--markdown", "markdown_target", metavar="FILE",
              help="Write the collisions and the table as Markdown to FILE.")
@click.option("--html", "html_target", metavar="FILE",
              help="Write the collisions and the table as one HTML page to FILE.")
def audit(paths: tuple[str, ...], workers: int, dist: str, max_pairs: int, timeout: float,
          confidence: float, no_fork: bool, no_gate: bool, store_dir: Path,
          json_target: str | None, markdown_target: str | None,
          html_target: str | None) -> int:
    begin_command(paths, json_target)
    config = AuditConfig(suite=suite_of(paths, timeout), store_dir=store_dir, workers=workers,
                         dist=Dist(dist), fork=not no_fork, max_pairs=max_pairs,
                         rule=confirmation_rule(confidence))
    report = run_audit(config, ConsoleObserver())
    render_audit(report)
    if json_target:
        write_json(audit_document(report), json_target)
    if markdown_target:
        Path(markdown_target).write_text(audit_markdown(report), encoding="utf-8")
    if html_target:
        Path(html_target).write_text(audit_html(report), encoding="utf-8")
    if report.interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.ATTENTION if report.collisions and not no_gate else ExitCode.OK
