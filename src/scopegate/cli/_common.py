"""What the ``scopegate`` commands share: one-line errors, exit codes, the store
(output: :mod:`._output`).

Exit codes of the admin commands (each one's ``--help`` repeats them):

    0  done
    1  not found, already exists, or the database failed mid-command
    2  bad input or configuration: a flag, a value, the catalog, a ``SCOPEGATE_*``
       setting, or a database that cannot be opened

An error is one ``error: ...`` line on stderr, never a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, ParamSpec, TypeVar

import sqlalchemy as sa
import typer
from alembic.util import CommandError
from typer._click.exceptions import ClickException  # Typer 0.29 vendors click; not re-exported
from typer.core import TyperGroup

from ..errors import OAuthError
from ..events import channel_for
from ..scopes import Catalog, ScopeError, load_catalog
from ..server.admin.client_spec import checked_label
from ..server.admin.errors import Conflict, Invalid, NotFound
from ..server.admin.notify import attach, horizon_s
from ..server.config.settings import Settings
from ..server.state import prepare_database
from ..store import Database, DatabaseError
from ..store.sealing import KekRing, SealError
from ._unknown_settings import warn_unknown_variables

__all__ = [
    "EXIT_CODES_HELP",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "STORE_FAILURES",
    "PlainErrorsGroup",
    "admin_command",
    "checked_name",
    "connect_database",
    "fail",
    "fail_unusable",
    "load_settings",
    "open_catalog",
    "open_sealed_store",
    "open_store",
    "refusals",
    "shown",
    "store_at",
]

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 not found, already exists, or the database failed mid-way; "
    "2 bad input or configuration (a flag, value, catalog, SCOPEGATE_* setting, or a "
    "database that cannot be opened). Errors are one line on stderr."
)

#: What a broken, locked, read-only, foreign or too new database raises on the way up.
STORE_FAILURES = (DatabaseError, sa.exc.SQLAlchemyError, CommandError, OSError)


# -- errors ------------------------------------------------------------------------------

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
            sys.exit(EXIT_FAILED)
        except ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with ``code``."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def shown(value: str, limit: int = 80) -> str:
    """``value`` quoted for an error line, cut short so a huge argument stays readable."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def checked_name(value: str, what: str, max_length: int) -> str:
    """``value`` stripped, or a one-line error unless it is 1 to ``max_length`` printable
    characters (a newline or NUL would break tables, logs and PostgreSQL)."""
    with refusals():
        return checked_label(value, what, max_length)


def _store_problem(exc: BaseException) -> str:
    """What went wrong, without the SQL statement or its parameters (they may hold secrets)."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        return str(exc.orig)
    if isinstance(exc, CommandError):  # Alembic does not know the stored revision
        return f"{exc} (was it migrated by a newer scopegate?)"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


def _store_failures_are_one_line(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except BrokenPipeError:
            raise
        except STORE_FAILURES as exc:
            fail(f"the database failed: {_store_problem(exc)}", code=EXIT_FAILED)

    return wrapper


def admin_command(group: typer.Typer, name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register an admin command on ``group``: exit codes in its help, and a database
    failing mid-command as one error line with exit code 1."""

    def register(func: Callable[P, R]) -> Callable[P, R]:
        group.command(name, epilog=EXIT_CODES_HELP)(_store_failures_are_one_line(func))
        return func

    return register


@contextmanager
def refusals(*, conflict: tuple[type[Exception], ...] = (),
             invalid: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Turn what an admin operation refuses into one error line: not found or already
    exists (and any ``conflict``) exits 1, invalid input (and any ``invalid``) exits 2."""
    try:
        yield
    except (NotFound, Conflict) as exc:
        fail(str(exc), code=EXIT_FAILED)
    except (Invalid, OAuthError) as exc:
        fail(str(exc))
    except conflict as exc:
        fail(str(exc), code=EXIT_FAILED)
    except invalid as exc:
        fail(str(exc))


# -- settings, catalog and store ---------------------------------------------------------

def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and flags, or a one-line error."""
    kek_file = overrides.get("kek_file")
    if kek_file is not None and not kek_file.strip():
        fail("--kek-file needs a file path, not an empty value")
    warn_unknown_variables(os.environ)
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


def _say(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def open_sealed_store(settings: Settings) -> Iterator[tuple[Database, KekRing]]:
    """The store, ready to use (an SQLite file is created and upgraded), and the KEKs that
    open its secrets; closed on exit.

    Every way the database can be unusable (unreachable, not a database, read-only,
    migrated by a newer scopegate, in memory, no KEK or the wrong one) is one error line
    and exit code 2.
    """
    db = connect_database(settings.database_url)
    try:
        try:
            keks = prepare_database(db, settings, announce=_say)
        except SealError as exc:
            fail(str(exc))
        except STORE_FAILURES as exc:
            fail_unusable(exc)
        if settings.redis_url:  # replicas hear what this command changes
            attach(db, channel_for(settings.redis_url, settings.issuer), horizon_s(settings))
        yield db, keks
    finally:
        db.dispose()


@contextmanager
def open_store(settings: Settings) -> Iterator[Database]:
    """:func:`open_sealed_store` for commands that never read a sealed secret."""
    with open_sealed_store(settings) as (db, _):
        yield db


@contextmanager
def store_at(database_url: str | None, catalog: str | None = None) -> Iterator[Database]:
    """:func:`open_store` where ``--database-url`` (or the environment) says, refusals as
    one error line (:func:`refusals`): what most admin commands open."""
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    with open_store(settings) as db, refusals():
        yield db
