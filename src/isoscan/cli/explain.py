"""``isoscan explain``: the state a polluter leaves behind, and how to fix it."""

from __future__ import annotations

from pathlib import Path

import click

from isoscan.cli.exit_codes import USAGE_IDS, exit_codes_help
from isoscan.cli.options import begin_command, store_option, suite_for, timeout_option
from isoscan.errors import ExitCode
from isoscan.explain.workflow import explain
from isoscan.model.status import Command, OrderingKind, RunPurpose, SessionStatus
from isoscan.report.json_doc import write_json
from isoscan.report.terminal.explain import render_explanation
from isoscan.store.db import Store

HELP = """Name the state POLLUTER leaves behind for VICTIM, and how to fix it.

\b
POLLUTER runs alone in a fresh pytest process with VICTIM queued after it;
VICTIM itself is not run. Process state is snapshotted before POLLUTER and
where VICTIM would start, and every change not restored is reported:
environment variables, cwd, umask, sys.path, sys.modules, sys.argv,
recursion limit, socket timeout, time zone, locale, module globals of the
project and its tests, files under the rootdir and the temp dir, open
descriptors and sockets, threads and child processes left running, logging
levels and handlers, warnings filters, signal handlers, the asyncio policy,
and whatever a conftest.py pytest_isoscan_snapshot hook returns (e.g. row
counts of shared tables).

\b
Changes whose key, name or file name the victim's test (or its fixtures)
mentions come first, then those its module mentions. Each comes with a fix
naming the key: monkeypatch.setenv, monkeypatch.setitem, tmp_path, ...
Without PATHS or pytest args, those of the latest `isoscan seeds` session in
the store are reused. Everything after a bare -- goes to pytest.

""" + exit_codes_help(
    "a state change was found", "nothing found in any of the kinds compared", usage=USAGE_IDS,
    cannot_run="the suite could not run: collection error, or the polluter crashed it")


@click.command("explain", help=HELP,
               short_help="Name the state a polluter leaves behind, and the fix.")
@click.argument("polluter")
@click.argument("victim")
@click.argument("paths", nargs=-1)
@click.option("--also", "also", multiple=True, metavar="ID",
              help="A further polluter run after POLLUTER (repeatable), for victims that need "
                   "several together.")
@timeout_option()
@store_option("The isoscan store.")
@click.option("--json", "json_target", metavar="FILE",
              help="Write the isoscan.explain/1 JSON answer to FILE ('-' for stdout).")
def explain_command(polluter: str, victim: str, paths: tuple[str, ...], also: tuple[str, ...],
                    timeout: float, store_dir: Path, json_target: str | None) -> int:
    begin_command(paths, json_target)
    store = Store(store_dir)
    try:
        suite = suite_for(store, paths, timeout)
        with (store.recording_session(Command.EXPLAIN, suite) as session,
              store.recording_run(session.id, RunPurpose.EXPLAIN, OrderingKind.EXPLICIT) as run):
            explanation = explain(suite, [polluter, *also], victim, run.dir,
                                  exclude=[store_dir.resolve()])
            if explanation.run is not None:
                run.finish(explanation.run)
            session.status = SessionStatus.FOUND if explanation.found else SessionStatus.NOTHING
    finally:
        store.close()
    render_explanation(explanation)
    if json_target:
        write_json(explanation.to_json(), json_target)
    return ExitCode.OK if explanation.found else ExitCode.ATTENTION

