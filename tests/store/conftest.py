"""What the store tests share: a database per backend, at the newest revision or empty."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from scopegate.store import Database

BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def fresh_database(request: pytest.FixtureRequest, sqlite_file: Path) -> Iterator[Database]:
    """An empty database: ``sqlite_file``, or a schema of its own in the test PostgreSQL
    (dropped afterwards), so no two fixtures see each other's rows."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{sqlite_file}")
        try:
            yield database
        finally:
            database.dispose()
        return
    base_url: str = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    database = Database(f"{base_url}?options=-csearch_path%3D{schema}")
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[Database]:
    """A database at the newest revision, shared by one module's tests (an SQLite file in
    a directory that does not exist yet: the store creates it)."""
    with fresh_database(request, tmp_path_factory.mktemp("store") / "new" / "s.db") as database:
        database.upgrade()
        yield database


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database for one test: the migration tests walk the revisions themselves."""
    with fresh_database(request, tmp_path / "mig.db") as database:
        yield database
