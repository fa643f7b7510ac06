"""The polluter sweep: once a polluter is known, run it right before each other test that could
read what it leaves, so every victim it breaks is found directly, whatever cleaners the suite
has (a classmate that resets the state hides it from every order where the polluter is not
last in its class).

Each candidate costs one trial, ``[polluter, candidate]``. Candidates come in the order of
what is known about the state: tests whose function, class or module mentions a term of the
state the polluter leaves (``isoscan explain``'s changes), then tests near its known victims,
then the rest in collected order. The trials stop at a stated bound on test time
(``model/sweep.py``). A test that fails after it is a victim only once the stated rule of
``model/confidence.py`` confirms it, as every other order verdict: more trials of
``[polluter, test]`` and of the test alone, ending at the first that disagrees.
"""

from __future__ import annotations

import ast
import contextlib
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from isoscan.bisect.context import BisectConfig
from isoscan.bisect.explained import explain_answer
from isoscan.bisect.probe import BisectObserver, Inconclusive, Probe
from isoscan.bisect.repro_files import add_reproduce
from isoscan.execution.argv import Suite
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.model.confidence import Confirmation, Rule
from isoscan.model.report import SeedsReport
from isoscan.model.status import Command, RunPurpose
from isoscan.model.sweep import SWEEP_FLOOR, SWEEP_RUNS, Sweep
from isoscan.model.verdicts import Evidence, Finding, Replay, Verdict
from isoscan.seeds.grouping import module_of, split_nodeid
from isoscan.store.db import Store
from isoscan.trials.base import TrialOutcome, TrialRunner
from isoscan.trials.factory import make_trials

if TYPE_CHECKING:
    from isoscan.explain.latent import StateTrack
    from isoscan.explain.workflow import Explanation


Found = Callable[[Finding, BisectResult], None]


@dataclass(frozen=True)
class SweptVictim:
    nodeid: str
    confirmation: Confirmation
    run_id: int | None  # the trial where it first failed after the polluter


class _Silent:
    def step(self, trials: int, message: str) -> None:
        """Says nothing (no observer given)."""


def full_run_durations(store: Store, session_id: int | None = None) -> dict[str, float]:
    """Per-test durations of one full serial run: the session's first serial planned run, else
    the newest serial planned run of the newest ``seeds`` session in the store; {} if none."""
    if session_id is None:
        latest = store.latest_session(Command.SEEDS)
        if latest is None:
            return {}
        session_id = latest.id
    for run in store.runs(session_id, RunPurpose.PLAN):
        if run.workers == 0:
            results = store.results(run.id)
            if results:
                return {nodeid: r.duration for nodeid, r in results.items()}
    return {}


def rank_candidates(candidates: Sequence[str], terms: Collection[str],
                    known: Collection[str], read_module: Callable[[str], str]) -> list[str]:
    """Most likely readers first: a test whose own function mentions a term of the state the
    polluter leaves, then one whose class does (its setUp, its fixtures), then one whose
    module does; then a test in a class or module holding a known victim; then the rest.
    Collected order within each."""
    sources: dict[str, ModuleText] = {}
    near = {_container(v) for v in known} | {module_of(v) for v in known}

    def level(nodeid: str) -> int:
        module = module_of(nodeid)
        if module not in sources:
            sources[module] = ModuleText(read_module(module))
        for rank, text in enumerate(sources[module].scopes(nodeid)):
            if terms and any(term in text for term in terms):
                return rank
        return 3 if _container(nodeid) in near or module in near else 4

    ranked = sorted(enumerate(candidates), key=lambda item: (level(item[1]), item[0]))
    return [nodeid for _, nodeid in ranked]


class ModuleText:
    """A test module's source, and the text of a test's function and classes in it."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            self.tree: ast.Module | None = ast.parse(text)
        except (SyntaxError, ValueError):
            self.tree = None

    def scopes(self, nodeid: str) -> list[str]:
        """[the test function's source, its classes' source, the module's]; a scope not found
        (a generated test, a parse error) is an empty string."""
        names = [n.split("[", 1)[0] for n in split_nodeid(nodeid)[1:]]
        body: list[ast.stmt] = self.tree.body if self.tree is not None else []
        classes = ""
        for name in names[:-1]:
            found = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == name),
                         None)
            if found is None:
                return ["", "", self.text]
            classes = ast.get_source_segment(self.text, found) or ""
            body = found.body
        function = next((n for n in body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                         and n.name == names[-1]), None) if names else None
        own = ast.get_source_segment(self.text, function) or "" if function else ""
        return [own, classes, self.text]


def module_reader(rootdir: Path) -> Callable[[str], str]:
    def read(module: str) -> str:
        try:
            return (rootdir / module).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
    return read


def sweep_polluter(polluters: Sequence[str], seed: int | None, candidates: Sequence[str],
                   runner: TrialRunner, rule: Rule, durations: Mapping[str, float], *,
                   known: Sequence[str] = (), state: str = "",
                   observer: BisectObserver | None = None) -> tuple[Sweep, list[SweptVictim]]:
    """Runs ``polluters`` right before each of ``candidates`` (ranked already), one trial
    each, until the bound; confirms each test that failed there by the rule."""
    observer = observer or _Silent()
    started = time.monotonic()
    full = sum(durations.values())
    result = Sweep(list(polluters), seed, state=state, known=list(known),
                   candidates=len(candidates), full_run_seconds=full,
                   budget_seconds=max(SWEEP_RUNS * full, SWEEP_FLOOR))
    first_trial = runner.count
    failed: list[tuple[str, int | None]] = []
    before = sum(durations.get(p, 0.0) for p in polluters)
    overhead = 0.0  # what trials measured beyond the full run's durations, summed
    for nodeid in candidates:
        # The next trial's cost: its tests' durations in the full run, plus the mean of what
        # each trial so far took beyond them (a fresh process sets up its session fixtures
        # and its first test once per trial), so the bound is never passed.
        estimate = before + durations.get(nodeid, 0.0)
        estimate += overhead / result.swept if result.swept else 0.0
        if result.test_seconds + estimate > result.budget_seconds:
            break
        outcome = runner.run([*polluters, nodeid], seed)  # one trial: no retry here
        spent = _test_seconds(runner.store, outcome)
        result.swept += 1
        result.test_seconds += spent
        overhead += max(0.0, spent - before - durations.get(nodeid, 0.0))
        if outcome.outcome_of(nodeid).is_failure:
            failed.append((nodeid, outcome.run_id))
    result.trials = runner.count - first_trial
    who = " + ".join(polluters)
    observer.step(runner.count, f"sweep of {who}: {len(failed)} of {result.swept} tests "
                  f"failed right after it; confirming each by the rule")
    victims = []
    for nodeid, run_id in failed:
        check = confirm_victim(polluters, nodeid, seed, runner, rule, observer)
        if check.met:
            victims.append(SweptVictim(nodeid, check, run_id))
            result.victims.append(nodeid)
        else:
            result.unconfirmed.append(nodeid)
    result.confirm_trials = runner.count - first_trial - result.trials
    result.seconds = time.monotonic() - started
    observer.step(runner.count, result.describe())
    return result, victims


def confirm_victim(polluters: Sequence[str], victim: str, seed: int | None,
                   runner: TrialRunner, rule: Rule, observer: BisectObserver) -> Confirmation:
    """The rule over fresh ``[polluters, victim]`` trials and the victim alone; the sweep's
    failing trial counts as the first result of the order side."""
    probe = Probe(runner, victim, seed, observer)
    check = Confirmation(rule, misbehaved=1)
    # A victim that could not run leaves the check pending: not confirmed.
    with contextlib.suppress(Inconclusive):
        check.settle(lambda: probe.fails(polluters), lambda: probe.passes([]))
    return check


@dataclass
class SweepOutcome:
    sweeps: list[Sweep]
    pairs: list[BisectResult]  # one per new victim, blaming the polluter swept
    findings: list[Finding]  # one per new victim, order-dependent, for ``seeds``


def sweep_answers(answers: Sequence[BisectResult], *, suite: Suite, store_dir: Path,
                  runner: TrialRunner, rule: Rule, collected: Sequence[str],
                  skip: Collection[str], durations: Mapping[str, float],
                  notice: Callable[[str], None],
                  observer: BisectObserver | None = None,
                  on_found: Found | None = None) -> SweepOutcome:
    """Sweeps every polluter set the verified ``answers`` name (once each), after naming
    the state it leaves with ``isoscan explain`` (in a fork of ``runner``'s session): the
    state orders the candidates and titles the group. ``skip``: tests never swept (judged
    already). Sets each answer's ``state``. ``on_found`` hears each new victim as soon as the
    rule confirms it (so Ctrl-C later loses none)."""
    result = SweepOutcome([], [], [])
    taken = set(skip)
    done: set[tuple[str, ...]] = set()
    for answer in answers:
        if answer.kind is not BisectKind.VICTIM:
            continue
        for polluters in answer.polluters:
            if tuple(polluters) in done:
                continue
            done.add(tuple(polluters))
            known = [a for a in answers if polluters in a.polluters]
            one = BisectResult(answer.victim, answer.kind, polluters=[polluters],
                               seed=answer.seed)
            state, terms = state_of(explain_answer(suite, one, store_dir, runner, notice))
            for other in known:
                other.state = other.state or state
            taken |= {a.victim for a in known} | set(polluters)
            swept = SweepTarget(polluters, answer.seed, state, terms,
                                [a.victim for a in known], f"sweep of {' + '.join(polluters)}")
            _sweep_one(swept, result, taken, suite=suite, store_dir=store_dir, runner=runner,
                       rule=rule, collected=collected, durations=durations, observer=observer,
                       on_found=on_found)
    return result


@dataclass(frozen=True)
class SweepTarget:
    """A polluter set to sweep and what is known about it."""

    polluters: list[str]
    seed: int | None
    state: str
    terms: list[str]
    known: list[str]  # its victims known already
    source: str  # how the new victims' answers say they were found


def sweep_suspects(suspects: Sequence[SweepTarget], *, suite: Suite, store_dir: Path,
                   runner: TrialRunner, rule: Rule, collected: Sequence[str],
                   skip: Collection[str], durations: Mapping[str, float],
                   observer: BisectObserver | None = None) -> SweepOutcome:
    """Sweeps tests suspected of polluting (latent polluters: they leave state changed though
    no victim failed), each as a polluter of its own; a victim found is confirmed by the rule
    like any other."""
    result = SweepOutcome([], [], [])
    taken = set(skip)
    for target in suspects:
        _sweep_one(target, result, taken | set(target.polluters), suite=suite,
                   store_dir=store_dir, runner=runner, rule=rule, collected=collected,
                   durations=durations, observer=observer)
        taken |= {f.nodeid for f in result.findings}
    return result


def _sweep_one(target: SweepTarget, result: SweepOutcome, taken: set[str], *, suite: Suite,
               store_dir: Path, runner: TrialRunner, rule: Rule, collected: Sequence[str],
               durations: Mapping[str, float], observer: BisectObserver | None,
               on_found: Found | None = None) -> None:
    """One polluter set's sweep; its new victims go into ``result`` (and ``taken``)."""
    polluters = target.polluters
    candidates = rank_candidates([t for t in collected if t not in taken], target.terms,
                                 target.known, module_reader(suite.cwd))
    sweep, victims = sweep_polluter(polluters, target.seed, candidates, runner, rule, durations,
                                    known=target.known, state=target.state, observer=observer)
    result.sweeps.append(sweep)
    for victim in victims:
        taken.add(victim.nodeid)
        pair = BisectResult(victim.nodeid, BisectKind.VICTIM, polluters=[polluters],
                            source=target.source, confirmation=victim.confirmation,
                            state=target.state, note="found by the polluter sweep")
        add_reproduce(pair, BisectConfig(suite, victim.nodeid, store_dir), [polluters],
                      target.seed)
        finding = _finding(victim, polluters, target.seed)
        result.pairs.append(pair)
        result.findings.append(finding)
        if on_found is not None:
            on_found(finding, pair)


def state_of(explanation: Explanation | None) -> tuple[str, list[str]]:
    """What explain names first (``global `pkg.flag```), and every term of every change."""
    if explanation is None or not explanation.changes:
        return "", []
    top = explanation.changes[0].change
    label = f"{top.kind} `{top.name}`" if top.name else f"{top.kind}: {top.summary}"
    terms = [t for c in explanation.changes for t in c.change.terms if len(t) >= 3]
    return label, list(dict.fromkeys(terms))


def _finding(victim: SweptVictim, polluters: Sequence[str], seed: int | None) -> Finding:
    """An order-dependent verdict resting on the sweep's trials: its failing order is the
    polluter set, its bound the rule's."""
    replay = Replay(victim.run_id or 0, "sweep", list(polluters), seed,
                    ["failed"] * victim.confirmation.misbehaved)
    alone = ["passed"] * victim.confirmation.behaved
    return Finding(victim.nodeid, Verdict.ORDER_DEPENDENT, Evidence(
        alone=alone, failing_order=replay, confirmation=victim.confirmation,
        note=f"found by the polluter sweep: fails right after {' + '.join(polluters)}"))


def _test_seconds(store: Store, outcome: TrialOutcome) -> float:
    """The trial's test time: its tests' stored durations, else their recorded start/finish."""
    if outcome.run_id is not None:
        results = store.results(outcome.run_id)
        if results:
            return sum(r.duration for r in results.values())
    return sum((finish or start) - start for start, finish in outcome.times.values())


def _container(nodeid: str) -> str:
    """The class a test is in, or its module."""
    parts = split_nodeid(nodeid)
    return "::".join(parts[:-1])


def sweep_latent(report: SeedsReport, track: StateTrack, *, suite: Suite, store_dir: Path,
                 rule: Rule, fork: bool, notice: Callable[[str], None],
                 observer: BisectObserver | None = None) -> SweepOutcome:
    """``seeds --track-state --bisect``: sweeps each latent polluter not swept already, adds
    what it finds to ``report`` (verdicts, answers, sweeps) and keeps it in the store."""
    swept = {tuple(s.polluters) for s in report.sweeps}
    targets = []
    for polluter in track.polluters:
        if (polluter.nodeid,) in swept:
            continue
        top = polluter.changes[0].change if polluter.changes else None
        state = (f"{top.kind} `{top.name}`" if top.name else f"{top.kind}: {top.summary}") \
            if top is not None else ""
        terms = [t for c in polluter.changes for t in c.change.terms if len(t) >= 3]
        targets.append(SweepTarget([polluter.nodeid], None, state, terms, [],
                                   f"sweep of latent polluter {polluter.nodeid}"))
    if not targets:
        return SweepOutcome([], [], [])
    store = Store(store_dir)
    runner = make_trials(suite, store, report.session_id, RunPurpose.CONFIRM, fork,
                         on_fallback=notice)
    try:
        result = sweep_suspects(targets, suite=suite, store_dir=store_dir, runner=runner,
                                rule=rule, collected=report.matrix.tests,
                                skip={f.nodeid for f in report.findings},
                                durations=full_run_durations(store, report.session_id),
                                observer=observer)
        report.findings += result.findings
        report.pairs += result.pairs
        report.sweeps += result.sweeps
        report.trials += sum(s.trials + s.confirm_trials for s in result.sweeps)
        answers = {pair.victim: pair.to_json() for pair in result.pairs}
        store.save_verdicts(report.session_id, {
            f.nodeid: (f.verdict.value, f.evidence.to_json() | {"pair": answers[f.nodeid]})
            for f in result.findings})
    finally:
        runner.close()
        store.close()
    return result
