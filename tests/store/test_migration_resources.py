"""Migration 0008 adds the ``resources`` table (one row per registered resource server,
the identifier its key) and takes it away again, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from scopegate.store import Database
from scopegate.store.repositories.resources import DuplicateResource, ResourceRepository

REVISION = "0008_resources"


def test_resources_are_stored_once_each_and_the_downgrade_drops_them(empty_db: Database) -> None:
    empty_db.upgrade(REVISION)
    repo = ResourceRepository(empty_db)
    made = repo.create(identifier="https://mcp.example/mcp", name="MCP",
                       scopes=["apps:run", "apps:read", "apps:run"])
    assert made.scopes == {"apps:read", "apps:run"}
    with pytest.raises(DuplicateResource):
        repo.create(identifier="https://mcp.example/mcp", name="again", scopes=["api"])
    assert [r.name for r in repo.list()] == ["MCP"]
    assert repo.delete("https://mcp.example/mcp") and not repo.delete("https://mcp.example/mcp")
    empty_db.downgrade("0007_resource_servers")
    assert "resources" not in sa.inspect(empty_db.engine).get_table_names()
    empty_db.upgrade("head")
    assert repo.list() == []
