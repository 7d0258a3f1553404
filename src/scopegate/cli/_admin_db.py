"""Shared plumbing of the admin commands: options, one-line errors, opening the store."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer

from ..scopes import Catalog, ScopeError, load_catalog
from ..server.settings import Settings
from ..server.state import prepare_database
from ..store import Database, DatabaseError

__all__ = [
    "CatalogOption",
    "DatabaseUrlOption",
    "JsonOption",
    "fail",
    "load_settings",
    "open_catalog",
    "open_database",
]

DatabaseUrlOption = Annotated[str | None, typer.Option(
    "--database-url", envvar="SCOPEGATE_DATABASE_URL",
    help="SQLAlchemy URL (default: scopegate.db in the user data dir).")]
CatalogOption = Annotated[str | None, typer.Option(
    "--catalog", envvar="SCOPEGATE_CATALOG_PATH",
    help="A scopes.toml file (default: the bundled catalog).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error to stderr and exit (2: bad input or configuration)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and flags, or a one-line error."""
    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        fail(str(exc))


def open_catalog(path: str | None) -> Catalog:
    """Load the catalog, or a one-line error naming the file and problem."""
    try:
        return load_catalog(path)
    except ScopeError as exc:
        fail(str(exc))


def open_database(settings: Settings) -> Database:
    """Open the store and make it usable (an SQLite file is created and upgraded)."""
    try:
        db = Database(settings.database_url)
        prepare_database(db, settings)
    except DatabaseError as exc:
        fail(str(exc))
    return db
