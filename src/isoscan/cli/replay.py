"""``isoscan replay``: rerun a parallel-only answer's concurrent replay."""

from __future__ import annotations

from pathlib import Path

import click

from isoscan.bisect.replay import TIMES, load_lanes, replay
from isoscan.cli.exit_codes import exit_codes_help
from isoscan.cli.options import store_option
from isoscan.console import console
from isoscan.errors import ExitCode
from isoscan.model.status import Command, RunPurpose, SessionStatus
from isoscan.store.db import Store
from isoscan.trials.factory import make_trials

HELP = """Run LANES_FILE's tests side by side again and count how often the victim fails.

\b
isoscan bisect writes a lanes file for every collision it verifies (a
parallel-only victim and the tests on other workers it collides with) and
prints this command as its reproduce command. Each replay starts the victim
in one process and each other worker's tests in a process of their own,
every test at its recorded offset from the victim, from the folder the
suite ran in.

""" + exit_codes_help(
    "the victim passed every replay: not reproduced here",
    "the victim failed in at least one replay: reproduced",
    usage="usage error (a missing or damaged lanes file)",
    kept="every finished replay is kept in the store",
)


@click.command("replay", help=HELP, short_help="Rerun a parallel-only answer's collision.")
@click.argument("lanes_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--times", type=click.IntRange(1, 1000), default=TIMES, show_default=True,
              help="How many concurrent replays to run.")
@store_option("The isoscan store (each replay is stored as a run).")
@click.option("--no-fork", is_flag=True,
              help="Run each lane as a fresh pytest subprocess instead of a fork of one "
                   "collected session.")
def replay_command(lanes_file: Path, times: int, store_dir: Path, no_fork: bool) -> ExitCode:
    plan = load_lanes(lanes_file)
    store = Store(store_dir)
    try:
        with store.recording_session(Command.REPLAY, plan.suite) as session:
            runner = make_trials(plan.suite, store, session.id, RunPurpose.REPLAY, not no_fork)
            try:
                tally = replay(plan, runner, times)
            finally:
                runner.close()
            session.status = SessionStatus.FOUND if tally.failed else SessionStatus.NOTHING
    finally:
        store.close()
    beside = ", ".join(t for lane in plan.lanes[1:] for t in lane.tests)
    console.print(f"{plan.victim}: failed in {tally.failed} of {tally.tries} concurrent "
                  f"replays beside {beside}")
    return ExitCode.ATTENTION if tally.failed else ExitCode.OK
