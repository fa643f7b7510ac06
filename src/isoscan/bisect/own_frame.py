"""An import-time test judged once more, in its own-module frame.

With the whole suite collected, an import-time test fails alone: no order can show a polluter
there, since it fails whatever runs first. A user who removes the import-time change may still
have an ordinary polluter, though. So its failing order is replayed with only the modules that
order needs collected: the test's own module and those of the tests before it, less the modules
whose import breaks it (the dependence's). In that frame it passes alone, and an ordinary bisect
(``workflow.run_bisect``) finds the polluter, or state-setter, with a reproduction of its own:
the command collects exactly those modules. ``isoscan explain`` then names the state it leaves
behind, and its fix.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from isoscan.bisect.context import BisectConfig
from isoscan.bisect.explained import explain_answer
from isoscan.bisect.import_time import OwnModuleCheck
from isoscan.bisect.probe import BisectObserver
from isoscan.bisect.repro_files import repro_path
from isoscan.bisect.starting_order import StartingOrder, cold_starts, explicit_start
from isoscan.bisect.workflow import run_bisect
from isoscan.errors import IsoscanError
from isoscan.execution.argv import Ordering, Suite, reproduce_command
from isoscan.execution.collect import collect_ids
from isoscan.import_time.frame import Frame, find_rootdir, module_of, modules_in_order
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.model.confidence import Rule
from isoscan.model.import_time import ImportDependence, OwnModuleFinding
from isoscan.model.status import OrderingKind, RunPurpose
from isoscan.store.db import Store
from isoscan.trials.base import TrialRunner
from isoscan.trials.factory import make_trials
from isoscan.trials.subprocess_trials import SubprocessTrials


def judge_in_own_frame(check: OwnModuleCheck, victim: str, dependence: ImportDependence,
                       start: StartingOrder, collected: list[str], store_dir: Path, rule: Rule,
                       observer: BisectObserver) -> BisectResult | None:
    """The bisect of ``start`` (an order the victim failed in, the whole suite collected) with
    only the modules it needs collected; its answer is also kept as ``dependence.own_module``.
    None when nothing is left to replay once the breaking modules are left out."""
    breaking = set(dependence.modules)
    prefix = [t for t in start.prefix if module_of(t) not in breaking and t != victim]
    if not prefix:
        return None
    order = modules_in_order(collected)
    modules = [m for m in modules_in_order([*prefix, victim]) if m != module_of(victim)]
    frame = Frame(victim, find_rootdir(victim, check.suite), tuple(order)).without_id()
    suite = _frame_suite(check.suite, frame, modules)
    observer.step(0, f"its own-module frame: the failing order replayed with only "
                     f"{', '.join(frame.args(modules, suite.cwd))} collected")
    config = BisectConfig(suite=suite, victim=victim, store_dir=store_dir, rule=rule,
                          start=replace(start, prefix=prefix, observed=False, confirmed=False,
                                        source=f"{start.source}, in its own-module frame"))
    trials = make_trials(suite, check.store, check.session_id, RunPurpose.IMPORTS, check.fork,
                         on_fallback=lambda message: observer.step(0, message))
    try:
        answer = run_bisect(config, check.store, trials, observer)
        # The second fix: what the polluter leaves behind, in a fork of the frame's session.
        explanation = explain_answer(suite, answer, store_dir, trials,
                                     lambda message: observer.step(trials.count, message))
    except IsoscanError as exc:
        # That frame could not run (a module that imports only beside the breaking one): the
        # import-time answer stands alone, and says so.
        dependence.own_module = OwnModuleFinding(
            [m for m in order if m in {*modules, module_of(victim)}],
            BisectKind.NOT_REPRODUCIBLE.value, note=f"could not run there: {exc.message}",
            source=start.source)
        return None
    finally:
        trials.close()
    top = explanation.changes[0] if explanation is not None and explanation.changes else None
    shown = _narrowed(check, frame, victim, answer, store_dir) or modules
    answer.note = "; ".join(filter(None, [f"in its own-module frame ({len(shown) + 1} test "
                                          "modules collected)", answer.note]))
    dependence.own_module = OwnModuleFinding(
        collected=[m for m in order if m in {*shown, module_of(victim)}],
        kind=answer.kind.value, polluters=answer.polluters, state_setters=answer.state_setters,
        reproduce=answer.reproduce or "", reproduce_all=list(answer.reproduce_all),
        note=answer.note, source=answer.source, trials=answer.trials,
        state=top.line if top else "", fix=top.hint if top else "")
    return answer


def own_frame(answer: BisectResult, config: BisectConfig, store: Store,
              check: OwnModuleCheck, trials: TrialRunner, observer: BisectObserver) -> None:
    """``isoscan bisect``'s import-time answer judged in its own-module frame too, from the
    order the bisect started from (``--order-file``, ``--run``, the latest stored failing run,
    else the collected suite before it); the answer then also names what was found there:
    the polluters (or state-setters) and, after the two import-time commands, a reproduction."""
    dependence = answer.import_time
    if answer.kind is not BisectKind.IMPORT_TIME or dependence is None or \
            not dependence.modules:
        return
    collected = trials.collected() or collect_ids(
        config.suite, store.root / "collect" / f"own-frame-{os.getpid()}")
    start = explicit_start(store, answer.victim, failed=True, given=config.start,
                           order_file=config.order_file, run_id=config.run_id,
                           collected=collected) or cold_starts(collected, answer.victim)[0]
    own = judge_in_own_frame(check, answer.victim, dependence, start, collected,
                             config.store_dir, config.rule, observer)
    if own is None:
        return
    answer.trials += own.trials  # trials of the frame's own runner
    if own.kind not in (BisectKind.VICTIM, BisectKind.BRITTLE):
        return
    answer.polluters = own.polluters
    answer.state_setters = own.state_setters
    answer.reproduce_all += own.reproduce_all


def _narrowed(check: OwnModuleCheck, frame: Frame, victim: str, answer: BisectResult,
              store_dir: Path) -> list[str] | None:
    """The reproductions rewritten to collect only the victim's module and those of each set,
    as a person would type them, once a fresh process shows each still fails that way; the
    modules of the first set, or None (the commands collect the whole frame, as bisected)."""
    sets = answer.polluters or ([answer.state_setters] if answer.state_setters else [])
    if not sets:
        return None
    commands = []
    for number, tests in enumerate(sets, start=1):
        modules = [m for m in modules_in_order(tests) if m != module_of(victim)]
        suite = _frame_suite(check.suite, frame, modules)
        outcome = SubprocessTrials(suite, check.store, check.session_id, RunPurpose.IMPORTS
                                   ).run([*tests, victim], answer.seed).outcome_of(victim)
        if outcome.is_failure is not bool(answer.polluters):
            return None
        order_file = repro_path(store_dir, victim, number)
        commands.append(reproduce_command(suite, Ordering(OrderingKind.EXPLICIT, answer.seed),
                                          _relative(order_file, suite.cwd)))
    answer.reproduce_all = commands
    answer.reproduce = commands[0]
    return [m for m in modules_in_order(sets[0]) if m != module_of(victim)]


def _relative(path: Path, cwd: Path) -> Path:
    try:
        return path.resolve().relative_to(cwd.resolve())
    except ValueError:
        return path.resolve()


def _frame_suite(suite: Suite, frame: Frame, modules: list[str]) -> Suite:
    """The suite collecting the victim's module and ``modules``, by path. The rootdir is
    given relative to the working directory, so the printed reproduction stays short."""
    root = os.path.relpath(frame.root, suite.cwd).replace(os.sep, "/")
    return replace(suite, paths=tuple(frame.args(modules, suite.cwd)),
                   pytest_args=(*suite.pytest_args, f"--rootdir={root}"))
