"""The one ``scopegate`` command. Each command group lives in its own module.

The user commands (``login``, ``token``, ...) come with the bare package; the admin and
server commands need ``scopegate[server]``. Without it they are still listed, and running
one says which extra to install instead of failing on a missing module.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from .._extras import MissingExtra, install_hint
from ._help_words import in_words

RootGroup: type[TyperGroup]
try:
    from ._common import PlainErrorsGroup as RootGroup
except ImportError:  # bare install: _common reads the server's settings; keep typer's group
    RootGroup = TyperGroup



class _WordsGroup(RootGroup):  # type: ignore[misc,valid-type]
    """The root group, whose help pages (and all its commands') say values in words."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        in_words(self)


app = typer.Typer(
    name="scopegate",
    help="Define, issue, enforce and request OAuth 2 scopes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_WordsGroup,
)

# module -> the commands it adds, in the order `scopegate --help` lists them
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "serve": ("serve", "db", "signing-keys"),
    "admin_clients": ("clients",),
    "admin_resources": ("resources",),
    "admin_scopes": ("scopes",),
    "admin_users": ("users", "workspaces"),
    "admin_sessions": (),
    "admin_keys": ("keys",),
    "admin_secrets": ("secrets",),
    "routes": ("routes",),
    "user": (),  # bare package: always importable
    "user_env": (),
    "demo": ("demo",),
}


def _refuse_without_extra(command: str, reason: ImportError) -> None:
    extra = reason.extra if isinstance(reason, MissingExtra) else "server"
    missing = reason.name or reason

    def refuse() -> None:
        typer.echo(f"error: scopegate {command} needs the '{extra}' extra (missing: {missing});"
                   f" {install_hint(extra)}", err=True)
        raise typer.Exit(2)

    app.command(command, help=f"Needs scopegate[{extra}] (not installed).",
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                                  "help_option_names": []})(refuse)


for _name, _commands in COMMAND_MODULES.items():
    try:
        _module = importlib.import_module(f".{_name}", __package__)
    except ImportError as missing:
        for _command in _commands:
            _refuse_without_extra(_command, missing)
    else:
        _module.register(app)


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
