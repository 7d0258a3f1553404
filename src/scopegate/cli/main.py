"""The one ``scopegate`` command. Each command group lives in its own module."""

from __future__ import annotations

import typer

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


def main() -> None:
    """Entry point of the ``scopegate`` console script."""
    app()
