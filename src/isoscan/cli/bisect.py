"""``isoscan bisect``: the minimal polluter set of a victim, verified."""

from __future__ import annotations

from contextlib import ExitStack, closing
from pathlib import Path

import click

from isoscan.bisect.context import BisectConfig
from isoscan.bisect.explained import explain_answer
from isoscan.bisect.import_time import OwnModuleCheck
from isoscan.bisect.inherit import hangs_of, inherited
from isoscan.bisect.own_frame import own_frame
from isoscan.bisect.workflow import run_bisect
from isoscan.cli.exit_codes import USAGE_IDS, exit_codes_help
from isoscan.cli.options import (
    begin_command,
    confidence_option,
    confirmation_rule,
    store_option,
    suite_for,
    timeout_option,
)
from isoscan.errors import ExitCode, UsageError
from isoscan.execution.argv import Suite
from isoscan.execution.collect import collect_ids
from isoscan.execution.recorded_run import read_for_victim
from isoscan.model.answer import BisectKind
from isoscan.model.status import Command, RunPurpose, SessionStatus
from isoscan.report.json_doc import write_json
from isoscan.report.terminal.bisect import StepPrinter, render_bisect, render_sweep
from isoscan.seeds.sweep import full_run_durations, sweep_answers
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.factory import make_trials

HELP = """Shrink the order in which VICTIM failed to the minimal, verified polluter set.

\b
The order comes from the latest stored run where VICTIM failed (its own process's
or xdist worker's order up to it), from --run ID, from --order-file (one node id
per line), or from --from DIR: an ordinary pytest run recorded elsewhere, e.g. in
CI, with `pytest --isoscan-record=DIR`, serial or xdist (its
seed, and under xdist every worker's recorded times, go with the order; see
docs/ci.md). With none stored, the whole collected
suite before it, then the reversed suite, are tried. Trials run VICTIM alone with
the whole suite collected; if it fails that way, it is also run alone in its own
module, as `pytest FILE::TEST` runs it. Passing there, it has an import-time
dependence: isoscan names the fewest other test modules whose collection breaks
it and what their import changes, with two commands that show it; its failing
order is then bisected again with only the modules it needs collected, and a
polluter found there is named too, with its own reproduction. Failing there
too, it is brittle: isoscan looks for the state-setter that makes it pass
instead. Without PATHS or pytest args, those of the latest `isoscan seeds`
session in the store are reused.

\b
A victim that failed only under xdist (its own worker's order replayed
serially passes) is parallel-only: isoscan replays every worker's tests
serially by start time (a leftover from another worker), then replays it
side by side with the tests other workers ran beside it, in a process per
worker with that worker's id, at their recorded offsets, asking first about
the one that shares a resource with it (what each touched in the first
replay; before giving up, beside each of the first few alone at offsets
around it), and names the culprit,
its worker and the files, databases, ports or declared resources they
share; `isoscan replay FILE` reruns that collision (see docs/parallel.md).

\b
After a verified polluter, it is swept (--no-sweep to skip): run right before
every other test in fork trials, within three full runs' worth of test time (a
full run's time from the newest seeds session; at least 1s), each test that
fails there confirmed by the --confidence rule. The answer then names every
victim it breaks, one line: "`P` breaks N tests (the state it leaves)".

""" + exit_codes_help(
    "polluter(s), state-setter, culprit on another worker or the import\n"
    "that breaks it found and verified",
    "nothing to blame: passes in the given order, non-deterministic,\n"
    "a parallel-only failure that does not reproduce, or not reproducible",
    usage=USAGE_IDS + ";\na --from DIR that cannot be used: no records, two runs mixed,\n"
    "VICTIM passed in it or its outcome was lost (the record stops while\n"
    "it ran), another commit, ids not collected here")


@click.command(help=HELP, short_help="Find the minimal polluter set of a victim.")
@click.argument("victim")
@click.argument("paths", nargs=-1)
@click.option("--run", "run_id", type=int, help="Take the failing order from this stored run.")
@click.option("--order-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Take the failing order from FILE, one node id per line.")
@click.option("--from", "from_dir", metavar="DIR",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Take the failing run from DIR, where an ordinary pytest run was recorded "
                   "(pytest --isoscan-record=DIR); it is imported into the "
                   "store as a run, and its commit must be this checkout's.")
@click.option("--cleaners", is_flag=True, help="Also find tests that, run between the "
              "polluter and the victim, make it pass.")
@click.option("--first", "first_only", is_flag=True,
              help="Stop at the first verified polluter set; do not check the rest of the "
                   "order for other independent sets (faster on a long order).")
@timeout_option("Per-test timeout in seconds; 0 disables it. Default: the --timeout of the "
                "session whose run the bisect starts from (120 with no such run); a test that "
                "hung there is stopped at its early bound from the first trial.", default=None)
@confidence_option()
@store_option("The isoscan store.")
@click.option("--no-fork", is_flag=True,
              help="Run each trial as a fresh pytest subprocess instead of a fork of one "
                   "collected session (see docs/fork-trials.md).")
@click.option("--explain/--no-explain", "explain_state", default=True, show_default=True,
              help="After a verified answer, name the state the polluter (or state-setter) "
                   "leaves behind, with a fix hint (see `isoscan explain`).")
@click.option("--sweep/--no-sweep", default=True, show_default=True,
              help="After a verified polluter, run it right before every other test (one fork "
                   "trial each, within three full runs of test time) and confirm each new "
                   "victim by the --confidence rule: every victim of that polluter, one line.")
@click.option("--json", "json_target", metavar="FILE",
              help="Write the isoscan.bisect/1 JSON answer to FILE ('-' for stdout).")
def bisect(victim: str, paths: tuple[str, ...], run_id: int | None, order_file: Path | None,
           from_dir: Path | None, cleaners: bool, first_only: bool, timeout: float | None,
           confidence: float, store_dir: Path, no_fork: bool, explain_state: bool,
           sweep: bool, json_target: str | None) -> int:
    begin_command(paths, json_target)
    printer = StepPrinter()
    recorded = None
    if from_dir is not None:
        if run_id is not None or order_file is not None:
            raise UsageError("--from takes the failing order from the recorded run: "
                             "leave out --run and --order-file")
        # Before the store is opened: a folder that cannot be used leaves no trace in it.
        recorded, note = read_for_victim(from_dir, victim, Path.cwd())
        if note:
            printer.notice(note)
    with ExitStack() as closing_last:  # the trials, then the store
        store = closing_last.enter_context(closing(Store(store_dir)))
        # The session the starting run comes from: its --timeout and the hangs it saw.
        taken = inherited(store, victim, run_id, timeout,
                          from_store=from_dir is None and order_file is None)
        if timeout is None and taken.session is not None:
            printer.notice(f"--timeout {taken.timeout:g}, as in session {taken.session.id}, "
                           "whose run the bisect starts from")
        suite = suite_for(store, paths, taken.timeout)
        config = BisectConfig(suite=suite, victim=victim, store_dir=store_dir, run_id=run_id,
                              order_file=order_file, cleaners=cleaners,
                              first_only=first_only, recorded=recorded,
                              rule=confirmation_rule(confidence))
        with store.recording_session(Command.BISECT, suite) as session:
            trials = closing_last.enter_context(closing(make_trials(
                suite, store, session.id, RunPurpose.BISECT, not no_fork,
                on_fallback=printer.notice, hangs=hangs_of(store, taken.session, suite.timeout))))
            own_module = OwnModuleCheck(suite, store, session.id, fork=not no_fork)
            result = run_bisect(config, store, trials, printer, own_module=own_module)
            own_frame(result, config, store, own_module, trials, printer)
            session.status = SessionStatus.answered(result.kind)
        render_bisect(result)
        # Before the trials close: the fork server's collected session serves it too.
        explanation = explain_answer(suite, result, store_dir, trials, printer.notice) \
            if explain_state and result.found else None
        swept = sweep_answers(
            [result], suite=suite, store_dir=store_dir, runner=trials,
            rule=config.rule, collected=_collected(suite, trials, store_dir),
            # Tests that crashed or hung in the order are not run again to be swept.
            skip={victim, *result.left_out},
            durations=full_run_durations(store), notice=printer.notice, observer=printer) \
            if sweep and result.kind is BisectKind.VICTIM and result.polluters else None
    document = result.to_json()
    if swept is not None:
        render_sweep(result, swept.sweeps, swept.pairs)
        document["sweeps"] = [s.to_json() for s in swept.sweeps]
        document["swept_victims"] = [pair.to_json() for pair in swept.pairs]
    if explanation is not None:
        from isoscan.report.terminal.explain import render_explanation

        render_explanation(explanation)
        document["explanation"] = explanation.to_json()
    if json_target:
        write_json(document, json_target)
    return ExitCode.OK if result.found else ExitCode.ATTENTION


def _collected(suite: Suite, trials: TrialRunner, store_dir: Path) -> list[str]:
    """The suite's ids for the sweep: the fork server's, else a collect-only run."""
    return trials.collected() or collect_ids(suite, store_dir / "collect" / "sweep")
