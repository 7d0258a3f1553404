"""``GET /api/v1/scopes`` gives an SDK what it needs to reason like the server, public only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from scopegate.scopes import catalog_from_listing, default_catalog
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings

ISSUER = "http://testserver"


def test_listing_carries_namespace_aliases_and_implication(http: TestClient) -> None:
    response = http.get("/api/v1/scopes")
    assert response.status_code == 200
    body = response.json()
    assert body["namespace"] == "scopegate"
    scopes = {s["name"]: s for s in body["scopes"]}
    assert scopes["apps:run"]["implies"] == ["apps:read"]
    assert scopes["apps:read"]["implies"] == []
    assert scopes["scopegate:all"]["aliases"] == ["all"]
    assert scopes["scopegate:application_connect"]["implies"] == ["apps:run"]
    public = {s.name for s in default_catalog().public()}
    assert set(scopes["scopegate:all"]["implies"]) == public - {"scopegate:all"}


def test_internal_scopes_never_appear_not_even_as_implied(http: TestClient) -> None:
    text = http.get("/api/v1/scopes").text
    assert "admin:clients" not in text and "admin:users" not in text


def test_metadata_advertises_the_catalog_and_the_listing_rebuilds_it(http: TestClient) -> None:
    doc = http.get("/.well-known/oauth-authorization-server").json()
    assert doc["scope_catalog_endpoint"] == ISSUER + "/api/v1/scopes"
    catalog = catalog_from_listing(http.get("/api/v1/scopes").json())
    assert catalog.covers({"scopegate:all"}, {"all", "apps:write"})
    assert catalog.covers({"apps:run"}, {"apps:read"})


def test_openapi_describes_the_new_members(http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    schema = spec["paths"]["/api/v1/scopes"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    assert schema["required"] == ["namespace", "scopes"]
    item = schema["properties"]["scopes"]["items"]
    assert {"name", "aliases", "implies", "audience"} <= set(item["required"])
    body = http.get("/api/v1/scopes").json()
    for scope in body["scopes"]:
        assert set(item["required"]) <= set(scope)


CUSTOM = """
namespace = "acme"
[scopes."reports:all"]
description = "All reports"
aliases = ["reports"]
implies = ["reports:engine", "reports:read"]
[scopes."reports:engine"]
public = false
implies = ["reports:export"]
[scopes."reports:read"]
[scopes."reports:export"]
[scopes."admin:billing"]
public = false
"""


@pytest.fixture(scope="module")
def custom_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A server on a catalog where a public scope implies an internal one."""
    tmp = tmp_path_factory.mktemp("custom-catalog")
    path = Path(tmp / "scopes.toml")
    path.write_text(CUSTOM)
    settings = Settings.from_env(env={}, database_url=f"sqlite:///{tmp / 'db.sqlite'}",
                                 issuer=ISSUER, catalog_path=str(path))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_an_internal_implied_scope_is_hidden_but_what_it_reaches_is_kept(
    custom_http: TestClient,
) -> None:
    body = custom_http.get("/api/v1/scopes").json()
    assert body["namespace"] == "acme"
    scopes = {s["name"]: s for s in body["scopes"]}
    assert set(scopes) == {"reports:all", "reports:read", "reports:export"}
    # reports:engine is internal: not listed, but what it implies stays reachable.
    assert scopes["reports:all"]["implies"] == ["reports:export", "reports:read"]
    text = json.dumps(body)
    assert "reports:engine" not in text and "admin:billing" not in text
    rebuilt = catalog_from_listing(body)
    assert rebuilt.covers({"reports"}, {"reports:export"})
