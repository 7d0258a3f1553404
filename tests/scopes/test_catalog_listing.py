"""The public listing of a catalog, and a catalog rebuilt from it (what an SDK does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scopegate.scopes import (
    MAX_LISTED_SCOPES,
    CatalogError,
    ScopeError,
    catalog_from_listing,
    default_catalog,
    load_catalog,
    public_listing,
)

SOURCE = "https://auth.example/api/v1/scopes"


def rebuilt() -> Any:
    return catalog_from_listing(public_listing(default_catalog()), SOURCE)


def test_rebuilt_catalog_answers_like_the_server_for_public_scopes() -> None:
    server, client = default_catalog(), rebuilt()
    assert client.namespace == "scopegate" and client.source == SOURCE
    assert client.canonicalize(["all", "application_connect"]) == {
        "scopegate:all", "scopegate:application_connect"}
    assert client.covers({"apps:run"}, {"apps:read"})
    assert not client.covers({"apps:read"}, {"apps:run"})
    assert client.covers({"scopegate:all"}, {"all", "apps:write", "keys:write", "openid"})
    assert client.covers({"application_connect"}, {"apps:run", "apps:read"})
    for scope in server.public():
        assert client.expand([scope.name]) == server.expand([scope.name])
        assert client.get(scope.name).aliases == scope.aliases
        assert client.get(scope.name).audience == scope.audience


def test_internal_scopes_stay_unknown_to_the_client() -> None:
    client = rebuilt()
    assert "admin:users" not in client
    # Unknown names are kept literally: never covered by `all`, never dropped.
    assert client.missing({"scopegate:all"}, {"admin:users", "apps:read"}) == {"admin:users"}


def test_listing_reaches_public_scopes_through_internal_ones(tmp_path: Path) -> None:
    path = tmp_path / "scopes.toml"
    path.write_text(
        'namespace = "acme"\n'
        '[scopes."reports:all"]\nimplies = ["reports:engine"]\n'
        '[scopes."reports:engine"]\npublic = false\nimplies = ["reports:read"]\n'
        '[scopes."reports:read"]\n'
    )
    listing = public_listing(load_catalog(path))
    assert listing["namespace"] == "acme"
    assert [s["name"] for s in listing["scopes"]] == ["reports:all", "reports:read"]
    assert listing["scopes"][0]["implies"] == ["reports:read"]
    assert "reports:engine" not in json.dumps(listing)
    assert catalog_from_listing(listing).covers({"reports:all"}, {"reports:read"})


def test_unknown_members_are_ignored_so_newer_servers_still_load() -> None:
    listing = {"namespace": "x", "version": 7, "scopes": [
        {"name": "a", "implies": ["b"], "title": "A", "deprecated": False},
        {"name": "b"}]}
    assert catalog_from_listing(listing).covers({"a"}, {"b"})


def _one(**item: Any) -> dict[str, Any]:
    return {"scopes": [{"name": "a", **item}, {"name": "b"}]}


MALFORMED = [
    pytest.param([], "must be a JSON object", id="not-an-object"),
    pytest.param({"namespace": "x"}, "'scopes' must be a non-empty array", id="no-scopes"),
    pytest.param({"scopes": []}, "'scopes' must be a non-empty array", id="empty"),
    pytest.param({"scopes": {"a": {}}}, "'scopes' must be a non-empty array", id="table"),
    pytest.param({"scopes": ["a"]}, r"scopes\[0\] must be an object with a 'name'", id="string"),
    pytest.param({"scopes": [{"description": "x"}]}, r"scopes\[0\] must be an object",
                 id="no-name"),
    pytest.param({"scopes": [{"name": 5}]}, r"scopes\[0\] must be an object", id="name-type"),
    pytest.param({"scopes": [{"name": "a"}, {"name": "a"}]}, "'a': listed twice",
                 id="duplicate"),
    pytest.param({"scopes": [{"name": "a b"}]}, "scope-token grammar", id="bad-name"),
    pytest.param({"scopes": [{"name": 'a"'}]}, "scope-token grammar", id="quote-in-name"),
    pytest.param(_one(implies=["nope"]), "implies unknown scope 'nope'", id="unknown-implied"),
    pytest.param(_one(implies=["*"]), "not wildcards", id="wildcard"),
    pytest.param(_one(implies="b"), "'implies' must be a list of strings", id="implies-type"),
    pytest.param(_one(aliases=[1]), "'aliases' must be a list of strings", id="alias-type"),
    pytest.param(_one(aliases=["b"]), "name already used|used twice", id="alias-clash"),
    pytest.param(_one(audience=""), "'audience' must be a non-empty string", id="audience"),
    pytest.param(_one(description=3), "'description' must be a string", id="description"),
    pytest.param({"namespace": "a:b", "scopes": [{"name": "a"}]}, "'namespace' must be",
                 id="namespace"),
    pytest.param({"scopes": [{"name": "a", "implies": ["b"]}, {"name": "b", "implies": ["a"]}]},
                 "implication cycle", id="cycle"),
    pytest.param({"scopes": [{"name": f"s{i}"} for i in range(MAX_LISTED_SCOPES + 1)]},
                 "more than", id="too-many"),
]


@pytest.mark.parametrize(("listing", "problem"), MALFORMED)
def test_malformed_listings_are_refused_with_the_source_and_the_reason(
    listing: Any, problem: str
) -> None:
    with pytest.raises(CatalogError, match=problem) as info:
        catalog_from_listing(listing, SOURCE)
    assert isinstance(info.value, ScopeError)
    assert str(info.value).startswith(SOURCE + ": ")
