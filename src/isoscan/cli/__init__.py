"""The ``isoscan`` command line: thin click commands over the library.

``main(argv) -> int`` is the whole program; it can be called in-process by tests.
Everything after a bare ``--`` is passed to pytest untouched.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from isoscan import __version__
from isoscan.console import error_line, to_stdout
from isoscan.errors import ExitCode, IsoscanError

# Each command's module is imported only when it runs (or for --help): `isoscan bisect` starts
# its fork server without paying for the imports of every other command first.
COMMANDS = {
    "seeds": ("isoscan.cli.seeds", "seeds"),
    "bisect": ("isoscan.cli.bisect", "bisect"),
    "explain": ("isoscan.cli.explain", "explain_command"),
    "isolate": ("isoscan.cli.isolate", "isolate"),
    "audit": ("isoscan.cli.audit", "audit"),
    "report": ("isoscan.cli.report", "report"),
    "baseline": ("isoscan.cli.baseline", "baseline"),
    "history": ("isoscan.cli.history", "history"),
    "replay": ("isoscan.cli.replay", "replay_command"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), name)
        return command if isinstance(command, click.Command) else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="isoscan")
def cli() -> None:
    """Find order-dependent and parallel-dependent tests in a pytest suite."""


INTERRUPTED = "Interrupted (Ctrl-C); every completed run is kept in the store"


def split_pytest_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    args = list(argv)
    if "--" in args:
        at = args.index("--")
        return args[:at], args[at + 1 :]
    return args, []


def main(argv: Sequence[str] | None = None) -> int:
    own, pytest_args = split_pytest_args(sys.argv[1:] if argv is None else argv)
    to_stdout()
    try:
        code = cli.main(args=own, prog_name="isoscan", standalone_mode=False,
                 obj={"pytest_args": pytest_args})
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        return int(ExitCode.USAGE)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        error_line(exc.format_message() + hint)
        return int(ExitCode.USAGE)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        error_line(INTERRUPTED)
        return int(ExitCode.INTERRUPTED)
    except IsoscanError as exc:
        error_line(exc.message, exc.detail)
        return int(exc.code)
    except KeyboardInterrupt:
        error_line(INTERRUPTED)
        return int(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        error_line(exc.format_message())
        return int(exc.exit_code)
    # With standalone_mode=False click hands back what the command returned: its exit code.
    return int(code) if isinstance(code, int) else int(ExitCode.OK)


def entry() -> None:
    sys.exit(main())
