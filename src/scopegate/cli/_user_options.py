"""The options the user commands share (``--env``, ``--api``, ``--client-id``, ``--scope``)."""

from __future__ import annotations

from typing import Annotated

import typer

from scopegate.scopes import ScopeError, validate_tokens

__all__ = ["ApiOption", "ClientIdOption", "EnvOption", "ScopeOption"]


def _check_scopes(values: list[str] | None) -> list[str]:
    """Reject empty or malformed --scope values instead of silently ignoring them."""
    values = values or []
    for value in values:
        if not value.strip():
            raise typer.BadParameter("--scope needs a scope name; an empty value is not allowed")
        if value.startswith("-"):
            # `--scope --device` would otherwise swallow the next flag as a scope.
            raise typer.BadParameter(f"--scope needs a scope name, got the option {value!r}")
    try:
        return list(validate_tokens(values))
    except ScopeError as exc:
        raise typer.BadParameter(str(exc)) from None


EnvOption = Annotated[
    str | None,
    typer.Option("--env", "-e", metavar="NAME",
                 help="Environment from environments.json (or SCOPEGATE_ENV)."),
]
ScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        "-s",
        metavar="SCOPE",
        help="A scope to request; repeat for several (--scope a --scope b).",
        callback=_check_scopes,
    ),
]


ApiOption = Annotated[
    str | None,
    typer.Option("--api", metavar="URL",
                 help="An API's URL alone (or SCOPEGATE_API_URL): its RFC 9728 metadata names "
                 "the issuer and scopes. With --env: that environment's API."),
]
ClientIdOption = Annotated[
    str | None,
    typer.Option("--client-id", metavar="ID",
                 help="The client to log in with (replaces the environment's)."),
]
