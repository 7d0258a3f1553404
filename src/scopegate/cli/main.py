"""The one ``scopegate`` command. Each command group lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import (
    admin_clients,
    admin_keys,
    admin_scopes,
    admin_secrets,
    admin_sessions,
    admin_users,
    demo,
    routes,
    serve,
    user,
)
from ._common import PlainErrorsGroup

app = typer.Typer(
    name="scopegate",
    help="Define, issue, enforce and request OAuth 2 scopes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=PlainErrorsGroup,
)

for module in (serve, admin_clients, admin_scopes, admin_users, admin_sessions, admin_keys,
               admin_secrets,
               routes, user, demo):
    module.register(app)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"scopegate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Define, issue, enforce and request OAuth 2 scopes."""


def main() -> None:
    """Entry point of the ``scopegate`` console script."""
    app()
