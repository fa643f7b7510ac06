"""Naming the import that breaks a test: which module's import-time code changes what state.

Two ``--collect-only`` pytest processes load the import tracer (``trace.py``): the first
collects the victim's own module alone and lists the project files it imports; the second
collects it first and then the modules that break it, and snapshots process state (the state
kinds of ``isoscan explain``) around every other project module's own code. Each change is
blamed on the module whose code made it, ranked by what the victim's source mentions (as
``explain`` ranks), a change to a module that was itself first imported there ranking last. A
third run traces the blamed modules line by line for just those changes
(``pinpoint.py``): the statement that made each one, the calls it went through, and the
chain of imports from the collected test module to it. Where that trace saw nothing (a kind it
cannot watch), the module-level statement that most likely made it is guessed from its words.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isoscan.execution.argv import Ordering, Suite, cache_args, pytest_argv
from isoscan.execution.process import run_pytest
from isoscan.explain.state import snapshot as s
from isoscan.explain.state.base import Change, clip
from isoscan.explain.workflow import Vocabulary, rank
from isoscan.model.import_time import ImportCause
from isoscan.model.status import OrderingKind

PLUGIN = "isoscan.import_time.trace"
# The kinds whose change the pinpoint run can watch line by line (``pinpoint.watch_of``).
_PINPOINTED = frozenset({s.GLOBAL, s.ENV, s.SYS_PATH, s.CWD})
MAX_CAUSES = 10
# The whole run's diff, used only when no module's own code made a change, keeps only what a
# test reads: descriptors, threads and pytest's own logging handlers come from pytest itself.
_FALLBACK_KINDS = frozenset({s.ENV, s.CWD, s.UMASK, s.SYS_PATH, s.SYS_ARGV, s.RECURSION,
                             s.SOCKET_TIMEOUT, s.TIMEZONE, s.LOCALE, s.GLOBAL, s.FILE,
                             s.WARNINGS, s.SIGNAL, s.ASYNCIO})
# Words a module-level statement that changes each kind of state is likely to contain, when it
# does not name the changed key or attribute itself (a computed key, a path built at run time).
_KIND_WORDS = {s.ENV: ("environ", "putenv"), s.SYS_PATH: ("sys.path",),
               s.CWD: ("chdir",), s.LOGGING: ("logging", "basicConfig", "dictConfig",
                                              "addHandler", "setLevel"),
               s.WARNINGS: ("filterwarnings", "simplefilter"), s.LOCALE: ("setlocale",),
               s.TIMEZONE: ("tzset", "TZ"), s.SIGNAL: ("signal",),
               s.RECURSION: ("setrecursionlimit",), s.SOCKET_TIMEOUT: ("setdefaulttimeout",)}


@dataclass(frozen=True)
class Traced:
    """One change, with the module whose code made it and the chain of imports to it."""

    change: Change
    module: str
    chain: tuple[str, ...]


def name_import_causes(alone: Suite, beside: Suite, victim: str, modules: Sequence[str],
                       root: Path, workdir: Path) -> tuple[list[ImportCause], str]:
    """The changes the import of ``modules`` (collected beside the victim's own module) makes,
    ranked, each named as "importing FILE rebinds lib.network"; and a note when they could not
    be traced. ``alone`` collects the victim's own module only, ``beside`` it first and then
    ``modules``; both already carry the rootdir."""
    victim_file = root / victim.split("::", 1)[0]
    watch = sorted(imported_names(victim_file))
    first = _trace(alone, victim, workdir / "alone", watch, None)
    if first is None:
        return [], "the import trace of its own module did not run"
    second = _trace(beside, victim, workdir / "beside", watch, list(first.get("imported", [])))
    if second is None:
        return [], "the import trace with those modules collected did not run"
    traced = [Traced(Change.from_json(c), str(seg["module"]), tuple(seg.get("chain", ())))
              for seg in second.get("segments", []) for c in seg.get("changes", [])]
    if not traced:
        traced = _outside_modules(first, second, modules)
    vocabulary = Vocabulary.from_json(second.get("vocabulary") or first.get("vocabulary") or {})
    by_change = {id(t.change): t for t in traced}
    fresh = {str(name) for name in second.get("first_imported", [])}
    ranked = [by_change[id(r.change)] for r in rank([t.change for t in traced], vocabulary)]
    ranked.sort(key=lambda t: t.change.detail.get("module") in fresh)  # stable: a tier below
    ranked = ranked[:MAX_CAUSES]
    pinned = _pinpoint(beside, victim, workdir / "pinpoint", watch,
                       list(first.get("imported", [])), ranked)
    causes = [_cause(t, _via(t.chain, modules), root, pinned.get(t.module, {}).get(t.change.name))
              for t in ranked]
    return causes, "" if causes else \
        "no change to process state was seen while those modules were imported"


def _pinpoint(beside: Suite, victim: str, workdir: Path, watch: list[str], known: list[str],
              ranked: Sequence[Traced]) -> dict[str, dict[str, Any]]:
    """Per blamed file, the stack of the line that made each change (``pinpoint.py``):
    one more collect-only run that traces only those files' execution."""
    wanted: dict[str, list[dict[str, str]]] = {}
    for traced in ranked:
        change = traced.change
        if change.kind not in _PINPOINTED or not traced.module.endswith(".py"):
            continue
        wanted.setdefault(traced.module, []).append({
            "kind": change.kind, "name": change.name,
            "owner": change.detail.get("module", ""), "attr": change.detail.get("attr", "")})
    if not wanted:
        return {}
    document = _trace(beside, victim, workdir, watch, None, wanted)
    found = document.get("pinpointed") if document is not None else None
    return found if isinstance(found, dict) else {}


def imported_names(path: Path) -> set[str]:
    """The modules a file imports at module level, and their parent packages: the libraries
    whose configuration its tests read."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in _module_level(tree.body):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    parents = {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)}
    return {n for n in names | parents if not n.startswith(("isoscan", "_pytest", "pytest"))}


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run when a module is imported, nested blocks (if, try, with) included."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for block in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                yield from _module_level(handler.body)


def _trace(suite: Suite, victim: str, workdir: Path, watch: list[str],
           known: list[str] | None, pinpoint: dict[str, list[dict[str, str]]] | None = None
           ) -> dict[str, Any] | None:
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / "trace.json"
    output.unlink(missing_ok=True)
    spec = workdir / "trace-spec.json"
    spec.write_text(json.dumps({"output": str(output), "victim": victim,
                                "tmpdir": str(workdir / "tmp"), "exclude": [str(workdir)],
                                "watch": watch, "known": known, "pinpoint": pinpoint},
                               ensure_ascii=False),
                    encoding="utf-8")
    argv = pytest_argv(suite, Ordering(OrderingKind.COLLECTED), 0, record_dir=None)
    argv += [*cache_args(workdir), "-p", PLUGIN, f"--isoscan-import-trace={spec}",
             "--collect-only"]
    run_pytest(argv, cwd=suite.cwd, log_path=workdir / "output.log", record_dir=None,
               hang_seconds=None)
    try:
        document = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _outside_modules(first: dict[str, Any], second: dict[str, Any], modules: Sequence[str]
                     ) -> list[Traced]:
    """What changed over the whole second run and not over the first, though no module's own
    code did it (a conftest hook, pytest inserting a test folder into ``sys.path``): blamed on
    collecting the first of ``modules``."""
    def keyed(document: dict[str, Any]) -> dict[tuple[str, str, str], Change]:
        changes = (Change.from_json(c) for c in document.get("overall", []))
        return {(c.kind, c.name, c.change): c for c in changes if c.kind in _FALLBACK_KINDS}

    alone, beside = keyed(first), keyed(second)
    module = modules[0] if modules else ""
    return [Traced(change, module, (module,)) for key, change in beside.items()
            if key not in alone]


def _via(chain: Sequence[str], modules: Sequence[str]) -> str:
    """The collected test module an import chain belongs to: its first module, or the module
    under the folder of the conftest that started it."""
    head = chain[0] if chain else ""
    if head in modules:
        return head
    folder = head.rpartition("/")[0]
    under = [m for m in modules if not folder or m.startswith(f"{folder}/")]
    return under[0] if under else (modules[0] if modules else head)


def _cause(traced: Traced, via: str, root: Path, stack: object = None) -> ImportCause:
    """``stack``: what the pinpoint run saw, ``[[file, line, source], ...]`` from the blamed
    module's own statement down to the line that made the change."""
    change = traced.change
    frames = [(str(f[0]), int(f[1]), str(f[2])) for f in stack
              if isinstance(f, list) and len(f) == 3] if isinstance(stack, list) else []
    statement = None
    line = None
    if frames and frames[0][0] == traced.module:
        line = frames[0][1]
        statement = f"{traced.module}:{line}: {clip(frames[0][2], 100)}"
    elif traced.module.endswith(".py"):
        statement = _statement(root, traced.module, change)
    calls = tuple(f"{path}:{number}: {clip(source, 100)}" for path, number, source in frames[1:])
    chain = _chain(traced.chain, via, line)
    return ImportCause(module=traced.module, via=via, kind=change.kind, name=change.name,
                       change=change.change, action=action(change), summary=change.line,
                       statement=statement, hint=import_hint(change, statement, calls),
                       chain=chain, calls=calls)


def _chain(modules: Sequence[str], via: str, line: int | None) -> tuple[str, ...]:
    """The imports from the collected test module down to the blamed module, its line last:
    ``("tests/net/test_other.py", "tests/net/helpers/chain_helpers.py:4")``."""
    chain = list(modules)
    if via in chain:
        chain = chain[chain.index(via):]
    elif via and via != (chain[0] if chain else ""):
        chain = [via, *chain]  # a conftest or a hook of the test module's folder
    if chain and line is not None:
        chain[-1] = f"{chain[-1]}:{line}"
    return tuple(chain)


def action(change: Change) -> str:
    """What a module's import does, as the verb phrase of "importing FILE …"."""
    name = change.name
    if change.kind == s.GLOBAL:
        verb = {"rebound": "rebinds", "mutated": "mutates", "added": "sets",
                "removed": "deletes"}.get(change.change, "changes")
        return f"{verb} {name}"
    if change.kind == s.ENV:
        return f"unsets env {name}" if change.change == "removed" else f"sets env {name}"
    if change.kind == s.SYS_PATH and name:
        return f"removes {name} from sys.path" if change.change == "removed" else \
            f"adds {name} to sys.path"
    return f"changes {change.line}"


def import_hint(change: Change, statement: str | None, calls: Sequence[str] = ()) -> str:
    """The fix for a change made at import time, naming the real attribute: for one made
    through a call (a library's setter), move that call into a fixture."""
    how = _patch(change)
    where, _, code = (statement or "").partition(": ")
    if calls and code:
        return (f"move the call {code} ({where}) into a fixture used by the tests that need "
                f"it, or use {how} there: called at import time it changes {change.name} for "
                "every test collected in the same process, whether it runs or not")
    return (f"do not change it at import time: every test collected in the same process sees "
            f"it, whether it runs or not; make the change in a fixture with {how}, used by the "
            "tests that need it")


def _patch(change: Change) -> str:
    """The monkeypatch call that makes this change and undoes it after the test."""
    if change.kind == s.GLOBAL:
        owner, attr = change.detail.get("module", ""), change.detail.get("attr", "")
        member, role = change.detail.get("member", ""), change.detail.get("role", "")
        if change.change == "mutated" and member and role == "key":
            return f"monkeypatch.setitem({owner}.{attr}, {member}, ...)"
        if change.change == "mutated" and member and role == "attribute":
            return f'monkeypatch.setattr({owner}.{attr}, "{member}", ...)'
        if owner and attr:
            return f'monkeypatch.setattr({owner}, "{attr}", ...)'
        return f"monkeypatch.setattr on {change.name}"
    return {s.ENV: f'monkeypatch.setenv("{change.name}", ...)',
            s.SYS_PATH: "monkeypatch.syspath_prepend (or pytest's pythonpath ini option)",
            s.CWD: "monkeypatch.chdir"}.get(change.kind, "a fixture that undoes it after its yield")


def _statement(root: Path, module: str, change: Change) -> str | None:
    """``FILE:LINE: source`` of the module-level statement that most likely made ``change``:
    the first naming one of its terms, else the first using a call typical of its kind."""
    path = root / module
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None
    terms = set(change.terms)
    kind_words = set(_KIND_WORDS.get(change.kind, ()))
    statements = [n for n in _module_level(tree.body)
                  if not isinstance(n, (ast.If, ast.Try, ast.With, ast.For, ast.While,
                                        ast.Import, ast.ImportFrom))]
    for wanted in (terms, kind_words):
        for node in statements:
            if wanted & _words(node):
                line = source.splitlines()[node.lineno - 1].strip()
                return f"{module}:{node.lineno}: {clip(line, 100)}"
    return None


def _words(node: ast.stmt) -> set[str]:
    """Names, attribute chains (``lib.network``) and short strings of the code a statement runs
    at import: a function's decorators and defaults, not its body."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts: list[ast.AST] = [*node.decorator_list, *node.args.defaults]
    elif isinstance(node, ast.ClassDef):
        parts = [*node.decorator_list, *node.bases, *node.body]
    else:
        parts = [node]
    words: set[str] = set()
    for part in parts:
        for sub in ast.walk(part):
            if isinstance(sub, ast.Name):
                words.add(sub.id)
            elif isinstance(sub, ast.Attribute):
                words.add(sub.attr)
                dotted = _dotted(sub)
                if dotted:
                    words.add(dotted)
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) \
                    and len(sub.value) <= 300:
                words.add(sub.value)
    return words


def _dotted(node: ast.Attribute) -> str | None:
    parts = [node.attr]
    value: ast.expr = node.value
    while isinstance(value, ast.Attribute):
        parts.append(value.attr)
        value = value.value
    if not isinstance(value, ast.Name):
        return None
    parts.append(value.id)
    return ".".join(reversed(parts))
