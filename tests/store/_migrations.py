"""Shared by the migration tests: an empty database per backend, raw inserts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scopegate.store import Database

NOW = datetime(2025, 1, 1, tzinfo=UTC)
BACKENDS = ["sqlite", "postgresql"]


def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database: a temp SQLite file, or a fresh schema in the test PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'mig.db'}")
        yield database
        database.dispose()
        return
    base_url: str = request.getfixturevalue("postgres_url")
    schema = f"mig_{uuid.uuid4().hex[:10]}"
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


def insert(db: Database, table: str, **values: Any) -> None:
    """Insert one row through the reflected table (the ORM models are at head, not here)."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=db.engine)
    with db.engine.begin() as conn:
        conn.execute(sa.insert(reflected).values(**values))
