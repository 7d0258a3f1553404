"""Resource operations on a real database (SQLite and PostgreSQL): bad input is one clear
refusal and nothing is stored; the catalog's audiences are listed and never removed."""

from __future__ import annotations

import re

import pytest

from scopegate.server.admin.errors import Conflict, Invalid, NotFound
from scopegate.server.admin.resources import (
    add_resource,
    catalog_resources,
    list_resources,
    remove_resource,
    resource_spec,
)
from scopegate.server.state import ServerState
from scopegate.store.repositories.resources import ResourceRepository

API = "https://api.scopegate.example"


@pytest.mark.parametrize(("identifier", "scopes", "name", "message"), [
    ("api.example", ["apps:read"], None, "absolute http(s) URL"),
    ("ftp://files.example", ["apps:read"], None, "absolute http(s) URL"),
    ("https://api.example/#x", ["apps:read"], None, "fragment"),
    ("https://user:pw@api.example", ["apps:read"], None, "user name"),
    ("https://api.example:99999", ["apps:read"], None, "invalid host or port"),
    ("https://[::1", ["apps:read"], None, "invalid host or port"),
    ("https://api.example/a b", ["apps:read"], None, "space"),
    ("https://API.example/mcp", ["apps:read"], None, "lower case"),
    ("HTTPS://api.example/mcp", ["apps:read"], None, "lower case"),
    ("https://api.example/" + "x" * 2000, ["apps:read"], None, "longer than"),
    ("https://api.example", [], None, "at least one --scope"),
    ("https://api.example", ["nope"], None, "unknown scope"),
    ("https://api.example", ["bad scope"], None, "invalid scope token"),
    ("https://api.example", ["apps:read"], "two\nlines", "control characters"),
    ("https://api.example", ["apps:read"], " ", "--name must be"),
])
def test_a_bad_resource_is_refused_before_the_store(
        state: ServerState, identifier: str, scopes: list[str], name: str | None,
        message: str) -> None:
    before = ResourceRepository(state.db).list()
    with pytest.raises(Invalid, match=re.escape(message)):
        resource_spec(state.catalog, identifier=identifier, scopes=scopes, name=name)
    assert ResourceRepository(state.db).list() == before


def test_add_list_remove(state: ServerState) -> None:
    static = catalog_resources(state.catalog, state.settings)
    spec = resource_spec(state.catalog, identifier="https://mcp.example/mcp",
                         scopes=["apps:run", "application_connect"], name="MCP")
    assert spec.scopes == {"apps:run", "scopegate:application_connect"}  # canonical
    added = add_resource(state.db, spec, static)
    assert added.name == "MCP" and not added.static
    with pytest.raises(Conflict, match="registered already"):
        add_resource(state.db, spec, static)
    listed = {v.resource.identifier: v for v in list_resources(state.db, static)}
    assert listed["https://mcp.example/mcp"].as_json()["scopes"] == [
        "apps:run", "scopegate:application_connect"]
    assert listed[API].resource.static and "apps:read" in listed[API].resource.scopes
    assert listed["http://testserver/api/v1/"].resource.name == "scopegate management API"
    assert listed["http://testserver/userinfo"].resource.scopes == {"openid"}
    remove_resource(state.db, "https://mcp.example/mcp", static)
    with pytest.raises(NotFound, match="no resource"):
        remove_resource(state.db, "https://mcp.example/mcp", static)


def test_catalog_audiences_cannot_be_added_again_nor_removed(state: ServerState) -> None:
    static = catalog_resources(state.catalog, state.settings)
    with pytest.raises(Conflict, match="audience of the scope catalog"):
        add_resource(state.db, resource_spec(state.catalog, identifier=API,
                                             scopes=["apps:read"]), static)
    with pytest.raises(Invalid, match="comes from the scope catalog"):
        remove_resource(state.db, API, static)
    assert ResourceRepository(state.db).get(API) is None


def test_the_listing_names_who_may_introspect(state: ServerState, make_client: object) -> None:
    from ..conftest import ClientFactory

    assert isinstance(make_client, ClientFactory)
    static = catalog_resources(state.catalog, state.settings)
    add_resource(state.db, resource_spec(state.catalog, identifier="https://rs.example",
                                         scopes=["apps:read"]), static)
    guard_id, _ = make_client(resource_servers=("https://rs.example",))
    listed = {v.resource.identifier: v for v in list_resources(state.db, static)}
    assert listed["https://rs.example"].introspected_by == (guard_id,)
