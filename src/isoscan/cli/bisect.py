"""``isoscan bisect``: the minimal polluter set of a victim, verified."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from isoscan.bisect.workflow import BisectConfig, repro_path, run_bisect
from isoscan.cli.options import begin_command, store_option, suite_for, timeout_option
from isoscan.console import console
from isoscan.errors import IsoscanError
from isoscan.execution.argv import Suite
from isoscan.model.answer import BisectResult
from isoscan.report.json_doc import write_json
from isoscan.report.terminal.bisect import StepPrinter, render_bisect
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.factory import make_trials

if TYPE_CHECKING:
    from isoscan.explain.workflow import Explanation

HELP = """Shrink the order in which VICTIM failed to the minimal, verified polluter set.

\b
The order comes from the latest stored run where VICTIM failed (its own process's
or xdist worker's order up to it), from --run ID, or from --order-file (one node id
per line). With none stored, the whole collected suite before it, then the reversed
suite, are tried. A test that fails alone is brittle: isoscan looks for the
state-setter that makes it pass instead. Without PATHS or pytest args, those of
the latest `isoscan seeds` session in the store are reused.

\b
Exit codes:
  0    polluter(s) or state-setter found and verified
  1    nothing to blame: passes in the given order, non-deterministic,
       parallel-only or not reproducible
  2    usage error (an id that was not collected gets the closest ids as hints)
  3    the suite could not run
  130  interrupted
"""


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
    store = Store(store_dir)
    try:
        suite = suite_for(store, paths, timeout)
        session_id = store.begin_suite_session("bisect", suite)
        printer = StepPrinter()
        trials = make_trials(suite, store, session_id, "bisect", not no_fork,
                             on_fallback=printer.notice)
        config = BisectConfig(suite=suite, victim=victim, store_dir=store_dir, run_id=run_id,
                              order_file=order_file, cleaners=cleaners,
                              first_only=first_only)
        try:
            result = run_bisect(config, store, trials, printer)
            store.end_session(session_id, result.kind.value)
            render_bisect(result)
            # Before the trials close: the fork server's collected session serves it too.
            explanation = explain_answer(suite, result, store_dir, trials) \
                if explain_state and result.found else None
        finally:
            trials.close()
    finally:
        store.close()
    document = result.to_json()
    if explanation is not None:
        from isoscan.report.terminal.explain import render_explanation

        render_explanation(explanation)
        document["explanation"] = explanation.to_json()
    if json_target:
        write_json(document, json_target)
    return 0 if result.found else 1


def explain_answer(suite: Suite, result: BisectResult, store_dir: Path, trials: TrialRunner
                   ) -> Explanation | None:
    """What the blamed tests leave behind; a failure here never hides the bisect answer."""
    # Imported only now: the snapshot machinery is not on the way to the fork server's start.
    from isoscan.explain.workflow import explain

    blamed = result.polluters[0] if result.polluters else result.state_setters
    workdir = repro_path(store_dir, result.victim).with_suffix("") / "explain"
    try:
        return explain(suite, blamed, result.victim, workdir, seed=result.seed,
                       exclude=[store_dir], runner=trials)
    except IsoscanError as exc:
        console.print(f"note: could not explain the state: {exc.message}", style="yellow")
        return None
