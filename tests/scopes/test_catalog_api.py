"""The catalog API on the bundled catalog: what the server and the guard rely on."""

from __future__ import annotations

import pytest

from scopegate.scopes import (
    ScopeNotAllowedError,
    ScopeSyntaxError,
    UnknownScopeError,
    default_catalog,
    granted_from_claims,
)

CATALOG = default_catalog()


def test_bundled_catalog_has_the_documented_scopes() -> None:
    for name in ["openid", "profile", "email", "offline_access", "api", "apps:read",
                 "apps:run", "apps:write", "workspace:read", "workspace:write",
                 "scopegate:all", "scopegate:application_connect"]:
        assert name in CATALOG
    assert CATALOG.default_scopes == {"api"}
    assert CATALOG.audiences(["api"]) == ("https://api.scopegate.example",)


def test_legacy_aliases_map_to_namespaced_names_and_back() -> None:
    assert CATALOG.parse("all application_connect") == {"scopegate:all",
                                                        "scopegate:application_connect"}
    assert CATALOG.legacy_names(["scopegate:all"]) == ("all",)


def test_implication() -> None:
    assert CATALOG.covers(["apps:write"], ["apps:read"])
    assert CATALOG.covers(["application_connect"], ["apps:run", "apps:read"])
    assert CATALOG.covers(["scopegate:all"], ["workspace:write", "keys:write"])
    assert not CATALOG.covers(["apps:read"], ["apps:write"])


def test_narrow_refuses_instead_of_dropping() -> None:
    with pytest.raises(ScopeNotAllowedError) as info:
        CATALOG.narrow(["api"], ["api", "apps:write"])
    assert info.value.names == ("apps:write",)


def test_unknown_and_malformed_scopes() -> None:
    with pytest.raises(UnknownScopeError, match="nope"):
        CATALOG.parse("api nope")
    with pytest.raises(ScopeSyntaxError):
        CATALOG.parse('api "quoted"')


def test_internal_scopes_are_not_public() -> None:
    assert CATALOG.non_public(["admin:clients", "api"]) == {"admin:clients"}
    assert "admin:clients" not in {s.name for s in CATALOG.public()}


def test_granted_scopes_from_claims_in_every_shape() -> None:
    assert granted_from_claims({"scope": "a b"}) == {"a", "b"}
    assert granted_from_claims({"scp": ["a", "b"]}) == {"a", "b"}
    assert granted_from_claims({"scp": "a"}) == {"a"}
    assert granted_from_claims({"sub": "x"}) is None


def test_a_token_for_a_resource_carries_only_what_it_offers() -> None:
    from scopegate.scopes import default_catalog, resource_scopes, static_resources

    catalog = default_catalog()
    offer = {"apps:read", "apps:run"}
    assert resource_scopes(catalog, {"api", "apps:read"}, offer) == {"apps:read"}
    # a wider request gives way to the offer; a wider offer is never granted whole
    assert resource_scopes(catalog, {"scopegate:all"}, offer) == offer
    assert resource_scopes(catalog, {"apps:read"}, {"apps:all"}) == {"apps:read"}
    assert resource_scopes(catalog, {"openid", "apps:read"}, offer, ["@userinfo"]) == {
        "openid", "apps:read"}
    assert resource_scopes(catalog, {"openid", "apps:read"}, offer) == {"apps:read"}
    assert resource_scopes(catalog, {"api"}, offer) == frozenset()
    assert static_resources(catalog)["@management"] >= {"keys:read", "keys:write"}
