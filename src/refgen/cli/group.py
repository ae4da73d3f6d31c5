"""How ``refgen`` and its command groups speak: whole summaries in ``--help``, one error style.

:class:`CommandGroup` lists each subcommand with its whole first sentence (wrapped, never cut with
"..."), and :meth:`CommandGroup.main` reports every failure the same way as the client commands
do (:func:`refgen.cli.exit_codes.fail`): ``error: <message>`` on stderr, one line per problem. That
covers click's own usage errors, server-side failures (:class:`~refgen.errors.RefgenError`) and
bad settings (:class:`~refgen.settings_errors.InvalidSettings`), so no traceback and no
``Error:`` in another style reaches a person.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from refgen.cli.exit_codes import EXIT_FAILURE, EXIT_USAGE, one_line
from refgen.errors import RefgenError
from refgen.settings_errors import InvalidSettings

SUMMARY_LENGTH = 1000
"""Longer than any first sentence: summaries are wrapped by the help formatter, not cut."""


class CommandGroup(click.Group):
    """A click group whose command list shows whole summaries and whose errors are one line each."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(SUMMARY_LENGTH)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            report([exc.format_message().rstrip() + hint], exc.exit_code)
        except click.ClickException as exc:
            report([exc.format_message()], exc.exit_code)
        except click.Abort:
            report(["aborted"], EXIT_FAILURE)
        except InvalidSettings as exc:
            report(exc.problems, EXIT_USAGE)
        except RefgenError as exc:
            report([one_line(exc.message)], EXIT_FAILURE)
        sys.exit(result if isinstance(result, int) else 0)


def report(problems: Sequence[str], exit_code: int) -> NoReturn:
    """``error: <problem>`` for each problem on stderr (a problem that lists things keeps its
    lines); then exit with ``exit_code``."""
    for problem in problems:
        click.echo(f"error: {problem.strip()}", err=True)
    sys.exit(exit_code)
