"""`isoscan audit` against `isoscan seeds --count 10 --workers 4` on generated suites with
planted collisions of every kind, at several sizes, in one run.

Planted (each one pair; names are generated, nothing is special-cased): a SQLite table one test
leaves rows in while another counts it; a SQLite table two tests drop and create; a fixed port
two tests bind; an HTTP service (a fixture's http.server on a fixed port) two tests reset; a
round-robin pool of two directory names handed out per module; a class whose class-scoped
teardown writes back a snapshot of a shared SQLite file; with ISOSCAN_TEST_REDIS_URL, a Redis
key two modules use while every test flushes the server; with ISOSCAN_TEST_PG_DSN, a
PostgreSQL table one test leaves rows in while another counts it. One more pair shares a
file safely (an atomic rewrite and a reader): it must never be reported. The rest of the
suite are fillers, half of them writing a file of their own under tmp_path.

Per size it prints: planted collisions the audit confirmed (victim and culprit both right),
its false alarms, its cost in seconds and in full-run equivalents (one plain `pytest` run of
the suite, measured here), the map's own overhead on one run (the same fork server running
the suite once with and once without the resource map), and for seeds: the planted pairs
one of whose tests it flagged (it names no culprit without --bisect), the tests outside every
planted pair it flagged (false alarms), seconds, full runs.

Also per size: the same audit with the isoscan of ``--baseline`` (another checkout's Python:
the numbers before a change, measured in the same run), the tests the candidate pairs hold
(the tests that share a resource: what the audit's cost may grow with) and the audit's seconds
after its map run. Then, for the audit and the baseline's, where the seconds go, read from the
audit's store: start-up, the map run, the rounds, the time between rounds, the rest, the lane
time left idle in the rounds, and the slowest pair's critical path (its steps, the seconds its
own lanes ran, the seconds of the rounds it was in).

Run: python benchmarks/collision_audit.py [--sizes 50,500,5000] [--seeds-sizes 50,500]
         [--baseline /path/to/other/.venv/bin/python]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def planted_suite(root: Path, size: int, also_real: set[str]
                  ) -> tuple[list[tuple[str, str]], int]:
    """Writes the suite; returns the planted (victim, culprit) pairs (culprit may be either
    side where both can fail: then both orders are listed) and the test count; adds to
    ``also_real`` the tests that collide under xdist in ways no pair here names."""
    shared = root / "shared"
    shared.mkdir(parents=True)
    files: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    service, port = free_port(), free_port()
    files["conftest.py"] = f"""
        import itertools, json, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import pytest

        class Items(BaseHTTPRequestHandler):
            items = []
            def do_GET(self):
                self._reply(json.dumps(Items.items))
            def do_POST(self):
                if self.path == "/reset":
                    Items.items = []
                else:
                    n = int(self.headers.get("Content-Length", 0))
                    Items.items = [*Items.items, self.rfile.read(n).decode()]
                self._reply("ok")
            def _reply(self, body):
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            def log_message(self, *a):
                pass

        @pytest.fixture(scope="session")
        def service():
            try:
                server = ThreadingHTTPServer(("127.0.0.1", {service}), Items)
            except OSError:
                server = None
            if server is not None:
                threading.Thread(target=server.serve_forever, daemon=True).start()
            yield "http://127.0.0.1:{service}"
            if server is not None:
                server.shutdown()
                server.server_close()

        POOL = ["pool-a", "pool-b"]
        _next = itertools.count()

        @pytest.fixture(scope="module")
        def pool_name():
            return POOL[next(_next) % len(POOL)]
    """
    db, acc = shared / "app.sqlite", shared / "accounts.sqlite"
    files["test_p1_count.py"] = f"""
        import sqlite3, time
        def test_counter():
            c = sqlite3.connect({str(db)!r})
            c.execute("CREATE TABLE IF NOT EXISTS entries (n int)")
            c.execute("DELETE FROM entries")
            c.execute("INSERT INTO entries VALUES (2)"); c.commit()
            time.sleep(0.5)
            n = c.execute("SELECT count(*) FROM entries").fetchone()[0]
            c.execute("DELETE FROM entries"); c.commit()
            assert n == 1
    """
    files["test_p1_write.py"] = f"""
        import sqlite3, time
        def test_writer():
            c = sqlite3.connect({str(db)!r})
            c.execute("CREATE TABLE IF NOT EXISTS entries (n int)")
            c.execute("INSERT INTO entries VALUES (1)"); c.commit()
            time.sleep(0.3)
    """
    pairs.append(("test_p1_count.py::test_counter", "test_p1_write.py::test_writer"))
    for name, n in (("import", 3), ("export", 2)):
        files[f"test_p2_{name}.py"] = f"""
            import sqlite3, time
            def test_{name}_staging():
                c = sqlite3.connect({str(db)!r}, timeout=5)
                c.execute("DROP TABLE IF EXISTS staging"); c.execute("CREATE TABLE staging (n int)")
                for i in range({n}):
                    c.execute("INSERT INTO staging VALUES (?)", (i,)); c.commit(); time.sleep(0.1)
                assert c.execute("SELECT count(*) FROM staging").fetchone()[0] == {n}
                c.execute("DROP TABLE staging"); c.commit()
        """
    pairs += [("test_p2_import.py::test_import_staging", "test_p2_export.py::test_export_staging"),
              ("test_p2_export.py::test_export_staging", "test_p2_import.py::test_import_staging")]
    for name in ("a", "b"):
        files[f"test_p3_{name}.py"] = f"""
            import socket, time
            def test_bind_{name}():
                with socket.socket() as s:
                    s.bind(("127.0.0.1", {port})); s.listen(); time.sleep(0.4)
        """
    pairs += [("test_p3_a.py::test_bind_a", "test_p3_b.py::test_bind_b"),
              ("test_p3_b.py::test_bind_b", "test_p3_a.py::test_bind_a")]
    files["test_p4_items.py"] = """
        import json, time, urllib.request
        def test_items(service):
            def post(p, b=b""):
                request = urllib.request.Request(service + p, data=b, method="POST")
                return urllib.request.urlopen(request).read()
            post("/reset"); post("/items", b"apple"); time.sleep(0.4)
            assert json.loads(urllib.request.urlopen(service + "/items").read()) == ["apple"]
    """
    files["test_p4_reset.py"] = """
        import json, time, urllib.request
        def test_reset(service):
            time.sleep(0.1)
            request = urllib.request.Request(service + "/reset", data=b"", method="POST")
            urllib.request.urlopen(request).read()
            time.sleep(0.3)
            assert json.loads(urllib.request.urlopen(service + "/items").read()) == []
    """
    pairs += [("test_p4_items.py::test_items", "test_p4_reset.py::test_reset"),
              ("test_p4_reset.py::test_reset", "test_p4_items.py::test_items")]
    for m in ("orders", "invoices", "refunds"):
        files[f"test_p5_{m}.py"] = f"""
            import time
            def test_pool_{m}(pool_name):
                d = __import__("pathlib").Path({str(shared)!r}) / pool_name
                d.mkdir(exist_ok=True)
                mine = d / "{m}.json"
                mine.write_text("{{}}")
                try:
                    time.sleep(0.4)
                    assert sorted(p.name for p in d.iterdir()) == ["{m}.json"]
                finally:
                    mine.unlink()
        """
    # The serial map sees invoices and refunds get one name; under xdist any two of the three
    # modules can (each worker's counter starts at 0): orders is a real victim too, never a
    # false alarm, but not a pair the map can show.
    pairs += [("test_p5_invoices.py::test_pool_invoices", "test_p5_refunds.py::test_pool_refunds"),
              ("test_p5_refunds.py::test_pool_refunds", "test_p5_invoices.py::test_pool_invoices")]
    also_real.add("test_p5_orders.py::test_pool_orders")
    files["test_p6_snapshot.py"] = f"""
        import shutil, sqlite3, time
        import pytest

        @pytest.fixture(scope="class")
        def snap():
            with sqlite3.connect({str(acc)!r}) as c:
                c.execute("CREATE TABLE IF NOT EXISTS accounts (name TEXT)")
            shutil.copyfile({str(acc)!r}, {str(acc)!r} + ".snap")
            yield
            shutil.copyfile({str(acc)!r} + ".snap", {str(acc)!r})

        @pytest.mark.usefixtures("snap")
        class TestAdmin:
            def test_list(self):
                time.sleep(0.3)
            def test_count(self):
                time.sleep(0.3)
    """
    files["test_p6_signup.py"] = f"""
        import sqlite3, time
        def test_signup():
            with sqlite3.connect({str(acc)!r}) as c:
                c.execute("CREATE TABLE IF NOT EXISTS accounts (name TEXT)")
                c.execute("INSERT INTO accounts VALUES ('ada')")
            time.sleep(1.5)
            with sqlite3.connect({str(acc)!r}) as c:
                names = [r[0] for r in c.execute("SELECT name FROM accounts")]
                c.execute("DELETE FROM accounts WHERE name = 'ada'")
            assert "ada" in names
    """
    pairs.append(("test_p6_signup.py::test_signup", "test_p6_snapshot.py::TestAdmin::test_count"))
    redis_url = os.environ.get("ISOSCAN_TEST_REDIS_URL")
    if redis_url:
        for name, delay in (("cart", 0.0), ("profile", 0.1)):
            files[f"test_p7_{name}.py"] = f"""
                import time, redis
                r = redis.Redis.from_url({redis_url!r})
                def test_{name}():
                    r.flushall()
                    time.sleep({delay}); r.set("session:current", "{name}"); time.sleep(0.3)
                    assert r.get("session:current") == b"{name}"
            """
        pairs += [("test_p7_cart.py::test_cart", "test_p7_profile.py::test_profile"),
                  ("test_p7_profile.py::test_profile", "test_p7_cart.py::test_cart")]
    dsn = os.environ.get("ISOSCAN_TEST_PG_DSN")
    if dsn:
        table = f"bench_events_{os.getpid()}"
        files["test_p8_digest.py"] = f"""
            import time, psycopg
            def test_digest():
                with psycopg.connect({dsn!r}, autocommit=True) as c:
                    c.execute("CREATE TABLE IF NOT EXISTS {table} (k text)")
                    c.execute("DELETE FROM {table}")
                    counts = []
                    for _ in range(8):
                        counts.append(c.execute("SELECT count(*) FROM {table}").fetchone()[0])
                        time.sleep(0.05)
                    assert counts == [0] * 8
        """
        files["test_p8_signup.py"] = f"""
            import psycopg
            def test_pg_signup():
                with psycopg.connect({dsn!r}, autocommit=True) as c:
                    c.execute("CREATE TABLE IF NOT EXISTS {table} (k text)")
                    c.execute("INSERT INTO {table} VALUES ('signup')")
        """
        pairs.append(("test_p8_digest.py::test_digest", "test_p8_signup.py::test_pg_signup"))
    settings = shared / "settings.json"
    files["test_safe_write.py"] = f"""
        import os
        def test_settings_write():
            with open({str(settings)!r} + ".tmp", "w") as f:
                f.write("{{}}")
            os.replace({str(settings)!r} + ".tmp", {str(settings)!r})
    """
    files["test_safe_read.py"] = f"""
        import os
        def test_settings_read():
            if os.path.exists({str(settings)!r}):
                assert open({str(settings)!r}).read() == "{{}}"
    """
    planted_tests = sum(body.count("def test_") for body in files.values())
    fill = max(0, size - planted_tests)
    for module in range(0, fill, 10):
        body = "".join(
            f"def test_fill_{i}(tmp_path):\n    (tmp_path / 'f').write_text('x')\n\n" if i % 2
            else f"def test_fill_{i}():\n    assert {i} + 1 == {i + 1}\n\n"
            for i in range(module, min(fill, module + 10)))
        files[f"test_fill_{module // 10:04d}.py"] = body
    for name, body in files.items():
        (root / name).write_text(textwrap.dedent(body))
    (root / "pytest.ini").write_text("[pytest]\n")
    return pairs, planted_tests + fill


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    return time.perf_counter() - started


REPEAT = 5


def map_overhead(root: Path) -> tuple[float, float]:
    """Runs of the suite in forks of one collected session, without and with the map: the
    median of REPEAT of each, alternating (one run each is mostly the machine's noise)."""
    code = textwrap.dedent(f"""
        import json, time
        from pathlib import Path
        from isoscan.execution.argv import Suite
        from isoscan.store.db import Store
        from isoscan.model.status import Command, RunPurpose
        from isoscan.trials.factory import make_trials
        from isoscan.trials.lanes import Lane
        suite = Suite(paths=(".",), pytest_args=("-p", "no:randomly"), cwd=Path.cwd(),
                      timeout=60)
        store = Store(Path({str(root / ".bench-store")!r}))
        with store.recording_session(Command.AUDIT, suite, None) as s:
            trials = make_trials(suite, store, s.id, RunPurpose.AUDIT, True)
            ids = trials.collected()
            lane = [Lane(tuple(ids), tuple(0.0 for _ in ids))]
            # Warm: the fork server is up and both kinds of run were made once.
            trials.run(ids)
            trials.run_concurrent(lane)
            plain, mapped = [], []
            for _ in range({REPEAT}):  # alternating, so a busy moment hits both
                t0 = time.perf_counter(); trials.run(ids); plain.append(time.perf_counter() - t0)
                t0 = time.perf_counter(); trials.run_concurrent(lane)
                mapped.append(time.perf_counter() - t0)
            trials.close()
        print(json.dumps([sorted(plain)[len(plain) // 2], sorted(mapped)[len(mapped) // 2]]))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, check=False)
    plain, mapped = json.loads(out.stdout.strip().splitlines()[-1])
    return plain, mapped


def run_audit(python: str, root: Path, work: Path, name: str, planted: set[frozenset[str]],
              pairs: list[tuple[str, str]], also_real: set[str]) -> dict[str, Any]:
    """One ``isoscan audit`` of the suite with ``python``'s isoscan: seconds, what it confirmed
    (victim and culprit both right), false alarms, trials, candidates and the tests they
    pair (the tests that share a resource)."""
    report = work / f"{name}.json"
    seconds = timed([python, "-m", "isoscan", "audit", ".", "--store", str(work / name),
                     "--timeout", "60", "--json", str(report)], root)
    doc = json.loads(report.read_text())
    found = {(c["victim"], c["polluters"][0][0]) for c in doc["collisions"]}
    return {
        "seconds": seconds,
        "right": len({frozenset(p) for p in found if p in set(pairs)}),
        "false_alarms": len({p for p in found if frozenset(p) not in planted
                             and not set(p) & also_real}),
        "trials": doc["trials"],
        "candidates": len(doc["candidates"]),
        "sharing": len({t for c in doc["candidates"] for t in c["tests"]}),
        "after_map": doc["seconds"] - doc["map"]["seconds"],
        "replays": replay_seconds(work / name / "isoscan.db", doc["map"]["run"]),
        "where": where_time_goes(work / name / "isoscan.db", doc, seconds),
    }


def seg_end(seg: list[tuple[str, float, float, float]]) -> list[float]:
    return [end for _, _, end, _ in seg]


LANES_AT_ONCE = 8  # the audit's default --workers: lanes running at once in a round


def where_time_goes(db: Path, doc: dict[str, Any], seconds: float) -> dict[str, Any]:
    """From the audit's store: its start-up (process, fork server, collection: up to the map
    run), the map run, the rounds (count, seconds), the time between rounds (the audit's
    own work: planning, storing), the rest (reports, exit), the share of lane time left idle
    in the rounds (of LANES_AT_ONCE lanes), and the slowest pair: the steps it took, the
    seconds its own lanes ran, the seconds of the rounds it was in (its critical path)."""
    with sqlite3.connect(db) as con:
        began = float(con.execute("SELECT min(started) FROM sessions").fetchone()[0])
        runs = con.execute("SELECT id, started, seconds FROM runs ORDER BY started").fetchall()
        lanes: dict[int, dict[int, list[tuple[str, float, float, float]]]] = {}
        for run_id, segment, nodeid, start, end, body in con.execute(
                "SELECT run_id, segment, nodeid, started, finished, coalesce(body, started) "
                "FROM executions WHERE started IS NOT NULL AND finished IS NOT NULL"):
            lanes.setdefault(run_id, {}).setdefault(segment, []).append(
                (nodeid, start, end, body))
    map_id = doc["map"]["run"]
    first = next(r for r in runs if r[0] == map_id)
    rounds = [r for r in runs if r[0] != map_id]
    between = sum(max(0.0, b[1] - (a[1] + a[2])) for a, b in itertools.pairwise(runs))
    # A lane is busy from its first test's body (not while held back) to its last end.
    busy = sum(max(seg_end(seg)) - min(body for *_, body in seg)
               for run_id, *_ in rounds for seg in lanes.get(run_id, {}).values())
    offered = sum(r[2] for r in rounds) * LANES_AT_ONCE
    slowest: tuple[str, int, float, float] = ("", 0, 0.0, 0.0)
    for candidate in doc["candidates"]:
        tests = set(candidate["tests"])
        steps, own, total = 0, 0.0, 0.0
        for run_id, _, run_seconds in rounds:
            mine = [seg for seg in lanes.get(run_id, {}).values()
                    if tests & {nodeid for nodeid, *_ in seg}]
            if mine:
                steps += 1
                total += run_seconds
                own += max(e for seg in mine for e in seg_end(seg)) - \
                    min(start for seg in mine for _, start, _, _ in seg)
        if own > slowest[2]:
            name = " × ".join(t.rsplit("::", 1)[-1] for t in candidate["tests"])
            slowest = (name, steps, own, total)
    startup = first[1] - began
    rounds_s = sum(r[2] for r in rounds)
    return {"startup": startup, "map": first[2], "rounds": len(rounds), "rounds_s": rounds_s,
            "between": between, "rest": seconds - startup - first[2] - rounds_s - between,
            "idle": 1.0 - busy / offered if offered else 0.0, "slowest": slowest}


def replay_seconds(db: Path, map_run: int) -> float:
    """The seconds of the audit's replays (every stored run but the map's): what proving the
    candidates cost, without the fork server's start and collection or the map."""
    with sqlite3.connect(db) as con:
        row = con.execute("SELECT sum(seconds) FROM runs WHERE id != ?", (map_run,)).fetchone()
    return float(row[0] or 0.0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50,500,5000")
    parser.add_argument("--seeds-sizes", default="50,500",
                        help="the sizes `seeds --count 10 --workers 4` also runs at (it takes "
                             "minutes each; '' for none)")
    parser.add_argument("--baseline", default="",
                        help="a Python whose isoscan is the one to compare with (before), "
                             "such as another checkout's .venv/bin/python; none by default")
    args = parser.parse_args()
    seeds_sizes = {int(s) for s in args.seeds_sizes.split(",") if s}
    if args.baseline and not Path(args.baseline).exists():
        parser.error(f"--baseline {args.baseline}: no such file")
    baseline = args.baseline
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        began = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix="isoscan-audit-bench-"))
        root = work / "suite"
        root.mkdir()
        also_real: set[str] = set()
        pairs, tests = planted_suite(root, size, also_real)
        planted = {frozenset(p) for p in pairs}
        full = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly",
                      "-p", "no:cacheprovider"], root)
        plain, mapped = map_overhead(root)
        after = run_audit(sys.executable, root, work, "audit", planted, pairs, also_real)
        before = run_audit(baseline, root, work, "audit-before", planted, pairs, also_real) \
            if baseline else None
        seeds: dict[str, Any] | None = None
        if size in seeds_sizes:
            seeds_json = work / "seeds.json"
            seeds_s = timed([sys.executable, "-m", "isoscan", "seeds", ".", "--count", "10",
                             "--workers", "4", "--timeout", "60", "--store",
                             str(work / "seeds-store"), "--json", str(seeds_json)], root)
            doc = json.loads(seeds_json.read_text())
            flagged = {t["nodeid"] for t in doc["tests"] if t["verdict"] != "stable"}
            in_pairs = {t for p in pairs for t in p} | also_real
            seeds = {"seconds": seeds_s,
                     "pairs": len({frozenset(p) for p in pairs if p[0] in flagged}),
                     "false_alarms": len(flagged - in_pairs)}
        rows.append((tests, len(planted), full, (mapped - plain) / plain if plain else 0.0,
                     after, before, seeds))
        print(f"size {size}: done in {time.perf_counter() - began:.0f}s", file=sys.stderr,
              flush=True)
    print("| tests | planted | tests sharing a resource | audit: confirmed (victim and culprit "
          "right) | audit: false alarms | audit: candidates / trials | audit: s (full runs) | "
          "audit: s replaying (after the map) | before (main): confirmed, s (full runs) | "
          "seeds: planted pairs with a victim flagged | seeds: false alarms | "
          "seeds: s (full runs) | one full run | map overhead |")
    print("|---" * 14 + "|")
    for tests, planted_n, full, overhead, after, before, seeds in rows:
        was = (f"{before['right']} of {planted_n}, {before['seconds']:.1f} "
               f"({before['seconds'] / full:.1f}); replaying {before['replays']:.1f}") \
            if before else "not run"
        seen = (f"{seeds['pairs']} of {planted_n} | {seeds['false_alarms']} | "
                f"{seeds['seconds']:.1f} ({seeds['seconds'] / full:.1f})") if seeds \
            else "not run | not run | not run"
        print(f"| {tests} | {planted_n} | {after['sharing']} | {after['right']} of {planted_n} | "
              f"{after['false_alarms']} | {after['candidates']} / {after['trials']} | "
              f"{after['seconds']:.1f} ({after['seconds'] / full:.1f}) | "
              f"{after['replays']:.1f} ({after['after_map']:.1f}) | {was} | {seen} | "
              f"{full:.1f} s | "
              f"{overhead * 100:+.0f}% |")
    print()
    print("Where the audit's seconds go: start-up (isoscan, fork server, collection), the map "
          "run, the rounds of replays, between rounds (the audit's own work), the rest "
          "(reports, exit); lane time idle in the rounds; the slowest pair: its steps, its own "
          "lanes' seconds, the seconds of its rounds (its critical path)")
    print("| tests | audit | start-up | map | rounds | between | rest | idle lanes | "
          "slowest pair | before: start-up, map, rounds, slowest pair |")
    print("|---" * 10 + "|")
    for tests, _, full, _, after, before, _ in rows:
        print(f"| {tests} | {after['seconds']:.1f} ({after['seconds'] / full:.2f}) | "
              f"{breakdown(after['where'])} | "
              f"{short_breakdown(before['where']) if before else 'not run'} |")
    return 0


def breakdown(w: dict[str, Any]) -> str:
    name, steps, own, total = w["slowest"]
    return (f"{w['startup']:.1f} | {w['map']:.1f} | {w['rounds']} in {w['rounds_s']:.1f} | "
            f"{w['between']:.1f} | {w['rest']:.1f} | {w['idle'] * 100:.0f}% | "
            f"{name}: {steps} steps, {own:.1f} s own in {total:.1f} s")


def short_breakdown(w: dict[str, Any]) -> str:
    _, steps, own, total = w["slowest"]
    return (f"{w['startup']:.1f}, {w['map']:.1f}, {w['rounds']} in {w['rounds_s']:.1f}, "
            f"{steps} steps {own:.1f} s own in {total:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
