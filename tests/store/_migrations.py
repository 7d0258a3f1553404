"""Shared by the migration tests: a fixed time and raw inserts (the empty database per
backend is the ``empty_db`` fixture of ``conftest.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from scopegate.store import Database

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def insert(db: Database, table: str, **values: Any) -> None:
    """Insert one row through the reflected table (the ORM models are at head, not here)."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=db.engine)
    with db.engine.begin() as conn:
        conn.execute(sa.insert(reflected).values(**values))
