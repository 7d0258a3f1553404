"""What every ``scopegate`` command shares: plain one-line usage errors."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click.exceptions import ClickException  # Typer 0.29 vendors click; not re-exported
from typer.core import TyperGroup

__all__ = ["PlainErrorsGroup"]


class PlainErrorsGroup(TyperGroup):
    """The root group: usage errors as click's plain ``Error: ...`` line, not a rich box.

    Rich draws the message in a panel as wide as the terminal and wraps it over several
    lines; a script or a log wants ``Usage``, a hint and one ``Error:`` line. Help pages
    stay rich.
    """

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode,
                                windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args,
                                **extra)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        except ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)
