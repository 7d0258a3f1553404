"""The migrations build exactly the tables the models describe (no forgotten column)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from scopegate.store import Database
from scopegate.store.models import Base


def test_a_migrated_database_has_every_table_and_column_of_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    missing = [d for d in diff if d[0] in ("add_table", "add_column", "remove_table",
                                           "remove_column", "add_index", "remove_index")]
    assert missing == []
