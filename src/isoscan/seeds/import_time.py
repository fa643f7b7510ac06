"""Confirmation's second kind of alone (``model/import_time.py``).

isoscan's trials run a test "alone" with the whole suite collected. Before a test that fails
that way is called brittle or broken, it is run alone in its own module, in fresh processes, as
``pytest path::id`` runs it: passing there is an import-time dependence, with the modules whose
collection breaks it and what their import changes. Every note that says "alone" then says
which alone it means.
"""

from __future__ import annotations

from collections.abc import Sequence

from isoscan.execution.argv import Suite
from isoscan.import_time.check import ImportChecker
from isoscan.model.import_time import Alone, ModuleAlone
from isoscan.model.outcomes import Outcome
from isoscan.model.verdicts import Evidence, Verdict
from isoscan.store.db import Store


class ImportTimeCheck:
    """The check as confirmation uses it; ``trials`` counts its fresh processes."""

    def __init__(self, checker: ImportChecker) -> None:
        self.checker = checker

    @property
    def trials(self) -> int:
        return self.checker.trials

    def judge(self, nodeid: str, evidence: Evidence) -> Verdict | None:
        """The verdict for a test that fails alone with the whole suite collected, or None
        when it fails alone in its own module too (then brittle or broken, judged as usual)."""
        check = self.checker.check(nodeid)
        evidence.alone_in_module = check.outcomes
        if check.shows is ModuleAlone.MIXED:
            evidence.note = f"passed and failed when run {Alone.MODULE.phrase}"
            return Verdict.NON_DETERMINISTIC
        if check.shows is not ModuleAlone.PASSES:
            return None
        if check.unsteady:
            evidence.note = (f"failed and passed {Alone.SUITE.phrase}, in fresh processes "
                             "(collecting no test module beside it breaks it)")
            return Verdict.NON_DETERMINISTIC
        if check.dependence is None:
            evidence.note = ("fails alone in a fork of the collected session, but passes alone "
                             "in a fresh process, with the whole suite collected and in its own "
                             "module: try --no-fork (docs/fork-trials.md)")
            return Verdict.NON_DETERMINISTIC
        evidence.import_time = check.dependence
        passed = len(check.alone_in_module)
        evidence.note = (f"passes {Alone.MODULE.phrase} ({passed} of {passed}); "
                         f"{check.dependence.text}")
        return Verdict.IMPORT_TIME


def which_alone(verdict: Verdict, evidence: Evidence) -> str:
    """The evidence's note, saying which alone its "alone" is: a note never says "fails
    alone" without it."""
    note = evidence.note
    if verdict is Verdict.IMPORT_TIME or not evidence.alone:
        return note
    if verdict is Verdict.BRITTLE and not note:
        note = "fails alone"
    if "alone" not in note or Alone.SUITE.phrase in note or Alone.MODULE.phrase in note:
        return note
    frame = Alone.SUITE.phrase.removeprefix("alone ")
    in_module = [Outcome(o) for o in evidence.alone_in_module]
    if in_module and not all(o.ran for o in in_module):
        frame += f"; {Alone.MODULE.phrase} it was not collected"
    elif in_module:
        failed = sum(o.is_failure for o in in_module)
        frame += f"; {Alone.MODULE.phrase}: failed {failed} of {len(in_module)}"
    return f"{note} ('alone': {frame})"


def import_time_check(suite: Suite, store: Store, session_id: int, collected: Sequence[str], *,
                      times: int, fork: bool) -> ImportTimeCheck:
    """The check for one ``seeds`` session: its fresh processes are stored as runs of it, its
    import traces kept under the store's ``imports/`` folder."""
    return ImportTimeCheck(ImportChecker(suite, store, session_id, collected, times=times,
                                         fork=fork, workdir=store.root / "imports"))
