"""``isoscan report``: the report and the CI gate from runs already made, by isoscan or others."""

from __future__ import annotations

from pathlib import Path

import click

from isoscan.cli.exit_codes import NOTHING_READABLE, USAGE, exit_codes_help
from isoscan.cli.options import parse_fail_on, store_option
from isoscan.cli.outputs import OutputOptions, finish_report, output_options
from isoscan.console import error_line, to_stderr
from isoscan.report.load import load_report
from isoscan.report.sources import resolve_sources
from isoscan.report.terminal.seeds import render_report

HELP = """Report on runs already made and gate CI on them: no pytest is run.

\b
SOURCE is any of (default: the store .isoscan/):
  a store folder       its latest 'isoscan seeds' session and the verdicts it
                       confirmed: the same report 'seeds' printed
  a session id N       session N of --store (see 'isoscan history')
  JUnit XML files or   from any runner: pytest, Ginkgo --junit-report, Maven
  folders              Surefire, jest-junit. Each file is one run; a folder of
                       Surefire TEST-*.xml files is one run. With no order to
                       replay, a test that passed and failed is 'flaky', one
                       that always failed is 'broken'.

\b
--merge combines any number of stores and JUnit folders, e.g. the artifacts of
'isoscan seeds --shard K/N' jobs, into one matrix and one gate; where they
disagree about a test, the confirmed verdict wins (order-dependent over stable).
Unreadable JUnit files get a one-line error each; the rest are still read.

""" + exit_codes_help(
    "nothing matching --fail-on, or every such case is listed in --baseline",
    "a case matching --fail-on that --baseline does not list",
    usage=f"{USAGE}, bad baseline file", cannot_run=NOTHING_READABLE, interruptible=False)


@click.command(help=HELP, short_help="Report and gate on stored runs or any runner's JUnit XML.")
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@store_option("The store read when no SOURCE is given, and for session ids.")
@click.option("--merge", is_flag=True,
              help="Combine several stores / JUnit artifact folders into one report and gate.")
@click.option("--json", "json_target", metavar="FILE",
              help="Write the isoscan.report/1 JSON report to FILE ('-' for stdout).")
@click.option("--fail-on", "fail_on", metavar="KINDS",
              help="Comma list of verdicts that make the exit code 1 "
                   "[default: order-dependent,brittle,parallel-only,import-time,unconfirmed].")
@output_options
def report(sources: tuple[str, ...], store_dir: Path, merge: bool, json_target: str | None,
           fail_on: str | None, outputs: OutputOptions) -> int:
    fail_kinds = parse_fail_on(fail_on)
    if json_target == "-":
        to_stderr()
    loaded = load_report(resolve_sources(sources, store_dir, merge), on_error=error_line)
    render_report(loaded)
    return finish_report(loaded, fail_kinds, outputs, json_target)
