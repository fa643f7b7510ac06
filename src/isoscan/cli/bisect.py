"""``isoscan bisect``: the minimal polluter set of a victim, verified."""

from __future__ import annotations

from contextlib import ExitStack, closing
from pathlib import Path

import click

from isoscan.bisect.explained import explain_answer
from isoscan.bisect.workflow import BisectConfig, run_bisect
from isoscan.cli.exit_codes import USAGE_IDS, exit_codes_help
from isoscan.cli.options import begin_command, store_option, suite_for, timeout_option
from isoscan.errors import ExitCode
from isoscan.model.status import Command, RunPurpose
from isoscan.report.json_doc import write_json
from isoscan.report.terminal.bisect import StepPrinter, render_bisect
from isoscan.store.db import Store
from isoscan.trials.factory import make_trials

HELP = """Shrink the order in which VICTIM failed to the minimal, verified polluter set.

\b
The order comes from the latest stored run where VICTIM failed (its own process's
or xdist worker's order up to it), from --run ID, or from --order-file (one node id
per line). With none stored, the whole collected suite before it, then the reversed
suite, are tried. A test that fails alone is brittle: isoscan looks for the
state-setter that makes it pass instead. Without PATHS or pytest args, those of
the latest `isoscan seeds` session in the store are reused.

""" + exit_codes_help(
    "polluter(s) or state-setter found and verified",
    "nothing to blame: passes in the given order, non-deterministic,\n"
    "parallel-only or not reproducible",
    usage=USAGE_IDS)


@click.command(help=HELP, short_help="Find the minimal polluter set of a victim.")
@click.argument("victim")
@click.argument("paths", nargs=-1)
@click.option("--run", "run_id", type=int, help="Take the failing order from this stored run.")
@click.option("--order-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Take the failing order from FILE, one node id per line.")
@click.option("--cleaners", is_flag=True, help="Also find tests that, run between the "
              "polluter and the victim, make it pass.")
@click.option("--first", "first_only", is_flag=True,
              help="Stop at the first verified polluter set; do not check the rest of the "
                   "order for other independent sets (faster on a long order).")
@timeout_option()
@store_option("The isoscan store.")
@click.option("--no-fork", is_flag=True,
              help="Run each trial as a fresh pytest subprocess instead of a fork of one "
                   "collected session (see docs/fork-trials.md).")
@click.option("--explain/--no-explain", "explain_state", default=True, show_default=True,
              help="After a verified answer, name the state the polluter (or state-setter) "
                   "leaves behind, with a fix hint (see `isoscan explain`).")
@click.option("--json", "json_target", metavar="FILE",
              help="Write the isoscan.bisect/1 JSON answer to FILE ('-' for stdout).")
def bisect(victim: str, paths: tuple[str, ...], run_id: int | None, order_file: Path | None,
           cleaners: bool, first_only: bool, timeout: float, store_dir: Path, no_fork: bool,
           explain_state: bool, json_target: str | None) -> int:
    begin_command(paths, json_target)
    with ExitStack() as closing_last:  # the trials, then the store
        store = closing_last.enter_context(closing(Store(store_dir)))
        suite = suite_for(store, paths, timeout)
        printer = StepPrinter()
        config = BisectConfig(suite=suite, victim=victim, store_dir=store_dir, run_id=run_id,
                              order_file=order_file, cleaners=cleaners,
                              first_only=first_only)
        with store.recording_session(Command.BISECT, suite) as session:
            trials = closing_last.enter_context(closing(make_trials(
                suite, store, session.id, RunPurpose.BISECT, not no_fork,
                on_fallback=printer.notice)))
            result = run_bisect(config, store, trials, printer)
            session.status = result.kind
        render_bisect(result)
        # Before the trials close: the fork server's collected session serves it too.
        explanation = explain_answer(suite, result, store_dir, trials, printer.notice) \
            if explain_state and result.found else None
    document = result.to_json()
    if explanation is not None:
        from isoscan.report.terminal.explain import render_explanation

        render_explanation(explanation)
        document["explanation"] = explanation.to_json()
    if json_target:
        write_json(document, json_target)
    return ExitCode.OK if result.found else ExitCode.NOTHING
