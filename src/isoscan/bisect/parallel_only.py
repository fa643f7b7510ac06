"""A victim that failed under xdist while its own worker's order passes serially: first a
leftover from another worker (a serial replay of every worker's tests by start time, bisected
as usual), then a collision in time (``parallel.py``'s concurrent replays)."""

from __future__ import annotations

from isoscan.bisect.context import Bisection
from isoscan.bisect.parallel import find_collision, leftover_answer, save_lanes
from isoscan.bisect.polluters import find_polluters
from isoscan.bisect.replay import replay_command
from isoscan.bisect.repro_files import relative, repro_path
from isoscan.bisect.reproduction import Reproduction, reproduces
from isoscan.bisect.starting_order import StartingOrder, other_xdist_failures
from isoscan.bisect.timeline import timeline
from isoscan.model.answer import BisectKind, BisectResult
from isoscan.trials.scan import ScanStop

MORE_XDIST_RUNS = 2  # other failing xdist runs a parallel-only search is tried from


def parallel_only(b: Bisection, start: StartingOrder) -> BisectResult:
    """When the run it starts from gives no verified answer and the bisect chose that run
    itself, the other runs of the same session where it failed under xdist are tried too
    (newest first): how reliably a concurrent replay reproduces a collision depends on the
    timing recorded in the run it replays."""
    result = _from_run(b, start)
    settled = result.polluters or result.kind is not BisectKind.PARALLEL_ONLY
    if b.config.run_id is not None or settled:
        return result
    for other in other_xdist_failures(b.store, b.victim, start)[:MORE_XDIST_RUNS]:
        b.step(f"nothing verified from run #{start.run_id}; trying run #{other.run_id}, where "
               f"it failed under xdist too")
        again = _from_run(b, other)
        if again.polluters or again.kind is not BisectKind.PARALLEL_ONLY:
            return again
    return result


def _from_run(b: Bisection, start: StartingOrder) -> BisectResult:
    victim, config = b.victim, b.config
    line = timeline(b.store, start.run_id, victim)
    if line is None:
        return BisectResult(victim, BisectKind.PARALLEL_ONLY, source=start.source,
                            note="failed under xdist, but the run recorded no start times "
                                 "to replay; nothing to blame")
    merged = line.merged_before()
    if set(merged) - set(start.prefix):
        leftover = StartingOrder(merged, start.seed, f"run #{line.run_id}: every worker's "
                                 f"tests before it, merged by start time", run_id=line.run_id)
        b.step(f"replaying serially the {len(merged)} tests all workers started before it, "
               f"merged by start time")
        probe = b.probe(start.seed)
        verdict = reproduces(b, leftover, probe, ScanStop.FAILS)
        if verdict is Reproduction.NON_DETERMINISTIC:
            return BisectResult(victim, BisectKind.NON_DETERMINISTIC, source=leftover.source,
                                note="the merged order failed and then passed; not bisected")
        if verdict is Reproduction.YES:
            result = find_polluters(b, leftover, probe)
            if result.polluters:
                result.kind = BisectKind.PARALLEL_ONLY
                result.parallel = leftover_answer(b.trials, line, result.polluters, start.seed,
                                                  config.suite.cwd)
                others = sorted(set(result.parallel.workers.values()) - {line.worker})
                result.note = (f"a leftover: a polluter ran earlier on another worker "
                               f"({', '.join(others) or 'none'}) and left state behind; "
                               f"it failed on {line.worker}")
            return result
    result, search = find_collision(victim, line, start.seed, b.trials, b.observer, start.source,
                                    config.suite.cwd, config.rule)
    if result.parallel is not None:
        for number, culprits in enumerate(result.polluters, start=1):
            lanes_file = repro_path(config.store_dir, victim, number).with_suffix(".lanes.json")
            save_lanes(lanes_file, config.suite, victim, start.seed, search.lanes(culprits))
            command = replay_command(relative(lanes_file, config.suite.cwd))
            result.reproduce_all.append(command)
            if number == 1:
                result.parallel.lanes_file = lanes_file
                result.reproduce = command
        result.seed = start.seed
    return result
