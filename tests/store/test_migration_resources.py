"""Migration 0008 adds the ``resources`` table (one row per registered resource server,
the identifier its key) and takes it away again, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from scopegate.store import Database
from scopegate.store.repositories.resources import DuplicateResource, ResourceRepository

from ._migrations import BACKENDS, empty_database

REVISION = "0008_resources"


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from empty_database(request, tmp_path)


def test_resources_are_stored_once_each_and_the_downgrade_drops_them(db: Database) -> None:
    db.upgrade(REVISION)
    repo = ResourceRepository(db)
    made = repo.create(identifier="https://mcp.example/mcp", name="MCP",
                       scopes=["apps:run", "apps:read", "apps:run"])
    assert made.scopes == {"apps:read", "apps:run"}
    with pytest.raises(DuplicateResource):
        repo.create(identifier="https://mcp.example/mcp", name="again", scopes=["api"])
    assert [r.name for r in repo.list()] == ["MCP"]
    assert repo.delete("https://mcp.example/mcp") and not repo.delete("https://mcp.example/mcp")
    db.downgrade("0007_resource_servers")
    assert "resources" not in sa.inspect(db.engine).get_table_names()
    db.upgrade("head")
    assert repo.list() == []
