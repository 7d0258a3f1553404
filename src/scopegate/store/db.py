"""The database handle: one SQLAlchemy 2 engine, sessions, and Alembic upgrades.

The store is synchronous on purpose: the async server calls it through a thread
(``starlette.concurrency.run_in_threadpool``) and only off the hot path. Works on SQLite
(the embedded default) and PostgreSQL (``postgresql+psycopg://``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .availability import Availability, AvailabilityChange, is_unreachable

__all__ = ["Database", "DatabaseError", "DatabaseUnavailable"]


class DatabaseError(RuntimeError):
    """The database is unreachable, its URL is invalid, or its schema is not current."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached right now (refused, dropped, file gone): retry later."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the server read while an admin command writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """A database at ``url``: engine, ``session()`` and ``upgrade()``.

    :param url: a SQLAlchemy URL, e.g. ``sqlite:////path/scopegate.db`` or
        ``postgresql+psycopg://user@host/db``.
    :param on_availability: called once when the database becomes unreachable and once
        when it answers again (see :attr:`availability`).
    """

    def __init__(self, url: str, *, echo: bool = False,
                 on_availability: Callable[[AvailabilityChange], None] | None = None) -> None:
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise DatabaseError(f"invalid database URL: {url!r}") from None
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database not in (None, "", ":memory:"):
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = sa.create_engine(url, echo=echo, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise DatabaseError(f"cannot use database URL {url!r}: {exc}") from None
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.availability = Availability(on_availability)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error.

        :raises DatabaseUnavailable: the database cannot be reached (the pool pings and
            reconnects by itself, so the next session tries again).
        """
        availability = self.availability
        epoch = availability.epoch
        try:
            with self._sessions() as session, session.begin():
                yield session
        except sa.exc.DBAPIError as exc:
            if not is_unreachable(exc, self.engine.dialect):
                raise
            availability.lost(exc)
            raise DatabaseUnavailable(f"the database cannot be reached: {exc.orig}") from exc
        if availability.down:
            availability.restored(epoch)

    # -- migrations --------------------------------------------------------------------

    def _alembic_config(self) -> Config:
        config = Config()
        location = resources.files("scopegate.store").joinpath("migrations")
        config.set_main_option("script_location", str(location))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def head_revision(self) -> str | None:
        """The newest revision the package ships."""
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def current_revision(self) -> str | None:
        """The revision the database is at (None for an empty database)."""
        try:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except sa.exc.OperationalError as exc:
            raise DatabaseError(f"cannot connect to the database: {exc.orig}") from None

    def is_current(self) -> bool:
        """Whether the schema is at the newest revision."""
        return self.current_revision() == self.head_revision()

    def upgrade(self, revision: str = "head") -> None:
        """Run Alembic migrations up to ``revision`` (idempotent)."""
        self._migrate(command.upgrade, revision, "upgrade")

    def downgrade(self, revision: str) -> None:
        """Run Alembic migrations down to ``revision`` (e.g. ``"0003_api_keys"``)."""
        self._migrate(command.downgrade, revision, "downgrade")

    def _migrate(self, step: Callable[[Config, str], None], revision: str, verb: str) -> None:
        config = self._alembic_config()
        try:
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                step(config, revision)
        except sa.exc.OperationalError as exc:
            raise DatabaseError(f"cannot {verb} the database: {exc.orig}") from None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
