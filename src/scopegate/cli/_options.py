"""The options many ``scopegate`` commands take, each spelled once."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["CatalogOption", "DatabaseUrlOption", "JsonOption", "KekFileOption"]

DatabaseUrlOption = Annotated[str | None, typer.Option(
    "--database-url", metavar="URL", envvar="SCOPEGATE_DATABASE_URL",
    help="SQLAlchemy URL (default: scopegate.db in the user data dir).")]
CatalogOption = Annotated[str | None, typer.Option(
    "--catalog", metavar="FILE", envvar="SCOPEGATE_CATALOG_PATH",
    help="A scopes.toml file (default: the bundled catalog).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
KekFileOption = Annotated[str | None, typer.Option(
    "--kek-file", metavar="FILE", envvar="SCOPEGATE_KEK_FILE",
    help="File with the key-encryption key(s) that seal the database's secrets "
         "(default: SCOPEGATE_KEK; for SQLite without either, <database>.kek).")]
