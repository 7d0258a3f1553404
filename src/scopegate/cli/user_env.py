"""``scopegate env add | list | remove``: the environments ``login`` and ``token`` use.

Like ``gh auth``/``gh config``: the first run starts with ``scopegate env add``, every
change says what it did and the next command to type, and ``list --json`` is for scripts.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from scopegate.client import terminal_text
from scopegate.client._config import ADD_HINT, Environment, parse_environments
from scopegate.client._config_files import read_json
from scopegate.client._config_write import (
    environments_path,
    remove_environment,
    save_environment,
)
from scopegate.client._exceptions import login_command
from scopegate.client._https import insecure_http_allowed

from ._output import print_table
from ._user_io import err, error, friendly
from ._user_options import ClientIdOption, ScopeOption

__all__ = ["env_app", "register"]

EXIT_CODES_HELP = "Exit codes: 0 ok, 1 no such environment or it already exists, " \
                  "2 usage or config error (a bad name, issuer URL or file)."

env_app = typer.Typer(help="Environments: the issuers `scopegate login` and `token` use "
                      "(environments.json).", no_args_is_help=True)

def _done(message: str, next_step: str | None = None) -> None:
    err.print(f"[green]✓[/] {message}", highlight=False, soft_wrap=True)
    if next_step:
        err.print(f"  next: {next_step}", highlight=False, soft_wrap=True)


@env_app.command("add", epilog=EXIT_CODES_HELP)
@friendly
def add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A short name, e.g. prod.")],
    issuer: Annotated[str, typer.Option("--issuer", metavar="URL",
                                        help="The authorization server's URL (https).")],
    client_id: ClientIdOption = None,
    scope: ScopeOption = None,
    default: Annotated[bool, typer.Option(
        "--default", help="Use it when no --env or SCOPEGATE_ENV is given.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace an environment of the same name.")] = False,
) -> None:
    """Add an environment (the first run starts here)."""
    added = save_environment(name, issuer, client_id=client_id, scopes=scope or [],
                             default=default, force=force)
    file = environments_path()
    mark = " (default)" if default else ""
    _done(f"Added environment {terminal_text(added.name)}{mark}: {terminal_text(added.issuer)} "
          f"in {terminal_text(file)}", login_command(added.name))


def _rows(file_data: Any) -> tuple[list[Environment], str | None]:
    envs, default = parse_environments(file_data, environments_path(), insecure_http_allowed())
    return [envs[name] for name in sorted(envs)], default


def _view(env: Environment, default: str | None) -> dict[str, Any]:
    return {"name": env.name, "issuer": env.issuer, "api_base_url": env.api_base_url,
            "client_id": env.client_id, "scopes": list(env.scopes or []),
            "default": env.name == default}


@env_app.command("list", epilog=EXIT_CODES_HELP)
@friendly
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the environments; * marks the default."""
    file = environments_path()
    rows, default = _rows(read_json(file, "environments file")) if file.exists() else ([], None)
    if as_json:
        sys.stdout.write(json.dumps([_view(env, default) for env in rows], indent=2) + "\n")
        return
    if not rows:
        err.print(f"No environments yet; run: {ADD_HINT}", highlight=False, soft_wrap=True)
        return
    print_table(["", "NAME", "ISSUER", "CLIENT ID", "SCOPES"], (
        ["*" if env.name == default else "", terminal_text(env.name),
         terminal_text(env.issuer or env.api_base_url or "-"),
         terminal_text(env.client_id or "-"), terminal_text(" ".join(env.scopes or ["-"]))]
        for env in rows))


@env_app.command("remove", epilog=EXIT_CODES_HELP)
@friendly
def remove(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The environment to remove.")],
) -> None:
    """Remove an environment (run `scopegate logout --env NAME` first to revoke its tokens)."""
    if not remove_environment(name):
        error(f"no environment named {name!r}; run: scopegate env list")
        raise typer.Exit(1)
    _done(f"Removed environment {terminal_text(name)}")


def register(app: typer.Typer) -> None:
    """Attach ``env`` to the root app."""
    app.add_typer(env_app, name="env")
