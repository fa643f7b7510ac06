"""The kinds the store records as text: commands, session and run statuses, run purposes,
orderings.

Each is a ``str`` Enum, so SQLite and JSON hold the same plain strings as before (stores
written by an older isoscan read the same), and a value read back compares equal to its member.
"""

from __future__ import annotations

from enum import Enum


class TextEnum(str, Enum):
    """A ``str`` Enum that prints as its value: ``f"{RunStatus.OK}"`` is ``ok``."""

    def __str__(self) -> str:
        return str(self.value)


class Command(TextEnum):
    """``sessions.command``: the isoscan command that recorded the session."""

    SEEDS = "seeds"
    BISECT = "bisect"
    EXPLAIN = "explain"
    ISOLATE = "isolate"
    AUDIT = "audit"  # ``isoscan audit``: the resource map and the collisions it proves
    REPLAY = "replay"
    IMPORT = "import"  # ``isoscan bisect --from DIR``: an ordinary run recorded elsewhere


class SessionStatus(TextEnum):
    """``sessions.status``: how a session ended. ``isoscan bisect`` ends its session with its
    answer's kind: one member per ``BisectKind``, spelled alike (``answered``)."""

    RUNNING = "running"
    DONE = "done"
    INTERRUPTED = "interrupted"  # stopped by Ctrl-C; what finished before is kept
    FAILED = "failed"  # ended by an error
    FOUND = "found"  # isoscan explain: a state change was found
    NOTHING = "nothing"  # isoscan explain: nothing found
    # isoscan bisect's answers (model/answer.py's BisectKind, value for value)
    VICTIM = "victim"
    BRITTLE = "brittle"
    NON_DETERMINISTIC = "non-deterministic"
    PARALLEL_ONLY = "parallel-only"
    IMPORT_TIME = "import-time"
    NOT_REPRODUCIBLE = "not-reproducible"
    UNCONFIRMED = "unconfirmed"

    @classmethod
    def answered(cls, kind: str) -> SessionStatus:
        """The status a bisect session ends with when its answer is of ``kind``."""
        return cls(kind)


class RunStatus(TextEnum):
    """``runs.status``: running until the run is stored, then how it went."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    CRASHED = "crashed"
    TIMEOUT = "timeout"
    ERROR = "error"  # pytest could not run the tests at all
    INTERRUPTED = "interrupted"  # cut short (Ctrl-C, or an error while it ran)


# Runs that did not complete: no cell of the matrix comes from them.
UNFINISHED = (RunStatus.RUNNING, RunStatus.INTERRUPTED)


class RunPurpose(TextEnum):
    """``runs.purpose``: why isoscan ran it."""

    PLAN = "plan"  # a planned run of ``isoscan seeds``: the matrix's columns
    CONFIRM = "confirm"  # a confirmation trial of ``isoscan seeds``
    BISECT = "bisect"
    ISOLATE = "isolate"
    AUDIT = "audit"  # ``isoscan audit``: its map run and forced-overlap replays
    EXPLAIN = "explain"
    TRACK_STATE = "track-state"  # ``isoscan seeds --track-state``
    REPLAY = "replay"  # ``isoscan replay``: a collision's concurrent replay
    # An ordinary pytest run (a CI job's) recorded by isoscan's plugin and imported from its
    # folder (``bisect --from``): never a column of a matrix, never a default starting order.
    RECORDED = "recorded"
    # A fresh process that collects only some of the suite's test modules and runs one test:
    # alone in its own module, or with the modules whose import may break it (``import_time/``).
    IMPORTS = "imports"


class OrderingKind(TextEnum):
    """How a run orders the tests; stored as ``runs.ordering``."""

    COLLECTED = "collected"
    REVERSED = "reversed"
    RANDOM = "random"
    EXPLICIT = "explicit"  # a replay of a recorded order
    # An order ``isoscan seeds`` planned for pair coverage (seeds/planner.py): run like
    # EXPLICIT, from an order file with a seed context, but a plan column, not a replay.
    PLANNED = "planned"
    RECORDED = "recorded"  # an ordinary pytest run recorded outside isoscan (CI), imported
