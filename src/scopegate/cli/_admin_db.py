"""Shared plumbing of the admin commands: options, one-line errors, opening the store."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import sqlalchemy as sa
import typer
from alembic.util import CommandError

from ..scopes import Catalog, ScopeError, load_catalog
from ..server.settings import Settings
from ..server.state import prepare_database
from ..store import Database, DatabaseError

__all__ = [
    "EXIT_CODES_HELP",
    "STORE_FAILURES",
    "CatalogOption",
    "DatabaseUrlOption",
    "JsonOption",
    "checked_name",
    "connect_database",
    "fail",
    "fail_unusable",
    "load_settings",
    "open_catalog",
    "open_database",
    "shown",
    "store_failures_are_one_line",
]

P = ParamSpec("P")
R = TypeVar("R")

DatabaseUrlOption = Annotated[str | None, typer.Option(
    "--database-url", envvar="SCOPEGATE_DATABASE_URL",
    help="SQLAlchemy URL (default: scopegate.db in the user data dir).")]
CatalogOption = Annotated[str | None, typer.Option(
    "--catalog", envvar="SCOPEGATE_CATALOG_PATH",
    help="A scopes.toml file (default: the bundled catalog).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

#: The epilog of every admin command: the exit codes scripts may rely on.
EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 not found, already exists, or the database failed mid-way; "
    "2 bad input or configuration (a flag, value, catalog, SCOPEGATE_* setting, or a "
    "database that cannot be opened). Errors are one line on stderr."
)

#: What a broken, locked, read-only, foreign or too new database raises on the way up.
STORE_FAILURES = (DatabaseError, sa.exc.SQLAlchemyError, CommandError, OSError)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error to stderr and exit (2: bad input or configuration)."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def shown(value: str, limit: int = 80) -> str:
    """``value`` quoted for an error line, cut short so a huge argument stays readable."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def checked_name(value: str, what: str, max_length: int) -> str:
    """``value`` stripped, or a one-line error unless it is 1 to ``max_length`` printable
    characters (a newline or NUL would break tables, logs and PostgreSQL)."""
    clean = value.strip()
    if not 0 < len(clean) <= max_length:
        fail(f"{what} must be 1 to {max_length} characters")
    if not clean.isprintable():
        fail(f"{what} must not contain control characters such as a newline, tab or NUL")
    return clean


def _store_problem(exc: BaseException) -> str:
    """What went wrong, without the SQL statement or its parameters (they may hold secrets)."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        return str(exc.orig)
    if isinstance(exc, CommandError):  # Alembic does not know the stored revision
        return f"{exc} (was it migrated by a newer scopegate?)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


def store_failures_are_one_line(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a database that fails mid-command into one error line and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except BrokenPipeError:
            raise
        except STORE_FAILURES as exc:
            fail(f"the database failed: {_store_problem(exc)}", code=1)

    return wrapper


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and flags, or a one-line error."""
    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        fail(str(exc))


def open_catalog(path: str | None) -> Catalog:
    """Load the catalog, or a one-line error naming the file and problem."""
    if path is not None and not path.strip():
        fail("--catalog needs a file path, not an empty value")
    try:
        return load_catalog(path)
    except ScopeError as exc:
        fail(str(exc))


def fail_unusable(exc: BaseException) -> NoReturn:
    """Say why the database cannot be used, in one line, and exit 2."""
    if isinstance(exc, DatabaseError):
        fail(str(exc))
    fail(f"cannot use the database: {_store_problem(exc)}")


def connect_database(url: str) -> Database:
    """A handle on the database at ``url``, or a one-line error (exit 2).

    An in-memory SQLite URL is refused: what the command writes would vanish with it.
    """
    try:
        db = Database(url)
    except STORE_FAILURES as exc:  # an invalid URL, a missing driver, a directory not made
        fail_unusable(exc)
    if db.is_sqlite and sa.make_url(url).database in (None, "", ":memory:"):
        fail("an in-memory SQLite database is gone when the command ends; "
             "give a file, e.g. sqlite:///scopegate.db")
    return db


def open_database(settings: Settings) -> Database:
    """Open the store and make it usable (an SQLite file is created and upgraded).

    Every way the database can be unusable (unreachable, not a database, read-only,
    migrated by a newer scopegate, in memory) is one error line and exit code 2.
    """
    db = connect_database(settings.database_url)
    try:
        prepare_database(db, settings)
    except STORE_FAILURES as exc:
        db.dispose()
        fail_unusable(exc)
    return db
