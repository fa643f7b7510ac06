"""The terminal answer of ``isoscan isolate``: the tests that fail alone, then a summary."""

from __future__ import annotations

from isoscan.console import console
from isoscan.isolate.workflow import IsolateReport


def render_isolate(report: IsolateReport) -> None:
    failing = report.fail_alone
    for result in failing:
        note = " (rechecked alone)" if result.rechecked else ""
        console.print(f"FAILS ALONE  {result.outcome.value:<8} {result.nodeid}{note}")
        if result.message:
            console.print(f"             {result.message}")
    for result in report.not_run:
        console.print(f"NOT RUN      {result.nodeid} (not collected in its fork)")
    ran = len(report.results)
    summary = (f"{ran} of {report.collected} tests run alone in {report.seconds:.1f}s "
               f"({report.mode.value}): {len(failing)} fail alone")
    if report.interrupted:
        summary += " (interrupted)"
    console.print(summary)
    if failing:
        console.print("Alone here is with the whole suite collected. A test that fails so is "
                      "broken, brittle (it needs another test to run first) or import-time "
                      "(another test module's import breaks it; it passes alone in its own "
                      "module): 'isoscan seeds' or 'isoscan bisect' tells which.")
