"""``isoscan baseline``: write the known cases of a report to a file people review and commit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from isoscan.cli.exit_codes import NOTHING_READABLE, exit_codes_help
from isoscan.cli.options import store_option
from isoscan.console import console, error_line, to_stderr
from isoscan.errors import ExitCode, UsageError
from isoscan.report.baseline import Baseline, baseline_document, load_baseline
from isoscan.report.load import load_report
from isoscan.report.sources import resolve_sources

HELP = """Write every unstable test of a report to a baseline file for the CI gate.

\b
SOURCE is read as by 'isoscan report' (default: the store .isoscan/). The file
(JSON, schema isoscan.baseline/1) lists each case's node id, verdict and known
polluters, with an empty "reason" for the reviewer to fill in; commit it and
pass it to 'isoscan seeds --baseline FILE' or 'isoscan report --baseline FILE':
the gate then fails only on cases it does not list. Rewriting an existing file
keeps the reasons of the cases still present. Delete a case to stop accepting it.

""" + exit_codes_help(
    "baseline written",
    usage="usage error: unknown option, path not found, unreadable existing baseline",
    cannot_run=NOTHING_READABLE, interruptible=False)


@click.command(help=HELP, short_help="Write the known unstable tests to a baseline file.")
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("-o", "--output", required=True, metavar="FILE",
              help="The baseline file to write ('-' for stdout).")
@store_option("The store read when no SOURCE is given, and for session ids.")
@click.option("--merge", is_flag=True,
              help="Combine several stores / JUnit artifact folders into one report first.")
def baseline(sources: tuple[str, ...], output: str, store_dir: Path, merge: bool) -> int:
    if output == "-":
        to_stderr()
    previous: Baseline | None = None
    if output != "-" and Path(output).exists():
        previous = load_baseline(Path(output))
    loaded = load_report(resolve_sources(sources, store_dir, merge), on_error=error_line)
    document = baseline_document(loaded, previous)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    kept = sum(1 for case in document["cases"] if case["reason"])
    console.print(f"Wrote {len(document['cases'])} known cases to {output}"
                  + (f" ({kept} kept their reason)" if kept else ""))
    return ExitCode.OK
