"""Every catalog loading error names the file, the scope and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from scopegate.scopes import CatalogError, load_catalog

CASES = [
    ("not toml = [", None, "invalid TOML"),
    ('namespace = "x"\nextra = 1\n[scopes.a]\n', None, "unknown top-level key(s): extra"),
    ('namespace = "x:y"\n[scopes.a]\n', None, "'namespace' must be a scope token"),
    ('namespace = "x"\n', None, "non-empty [scopes] table"),
    ('namespace = "x"\n[scopes."a b"]\n', "a b", "RFC 6749 scope-token grammar"),
    ('namespace = "x"\n[scopes.a]\ncolour = 1\n', "a", "unknown key(s): colour"),
    ('namespace = "x"\n[scopes.a]\naliases = ["z"]\n[scopes.b]\naliases = ["z"]\n', "b",
     "alias 'z' is used twice"),
    ('namespace = "x"\n[scopes.a]\naliases = ["b"]\n[scopes.b]\n', "b",
     "already used as an alias"),
    ('namespace = "x"\n[scopes.a]\naliases = ["bad alias"]\n', "a", "breaks the scope grammar"),
    ('namespace = "x"\n[scopes.a]\ndescription = 3\n', "a", "'description' must be a string"),
    ('namespace = "x"\n[scopes.a]\npublic = "yes"\n', "a", "'public' must be true or false"),
    ('namespace = "x"\n[scopes.a]\naudience = ""\n', "a", "'audience' must be a non-empty"),
    ('namespace = "x"\n[scopes.a]\naudience = "@Bad name"\n', "a", "symbolic 'audience'"),
    ('namespace = "x"\n[scopes.a]\nimplies = ["nope"]\n', "a", "implies unknown scope 'nope'"),
    ('namespace = "x"\n[scopes.a]\nimplies = ["q:*"]\n', "a", "matches no scope"),
    ('namespace = "x"\n[scopes.a]\nimplies = ["b"]\n[scopes.b]\nimplies = ["a"]\n', None,
     "implication cycle"),
    ('namespace = "x"\ndefault_scopes = ["zz"]\n[scopes.a]\n', None,
     "default_scopes names unknown scope 'zz'"),
    ('namespace = "x"\n[roles]\nm = ["zz"]\n[scopes.a]\n', None,
     "role 'm' names unknown scope 'zz'"),
    ('namespace = "x"\n[scopes.a]\nimplies = "b"\n', "a", "must be a list of strings"),
]


@pytest.mark.parametrize(("text", "scope", "problem"), CASES)
def test_error_names_file_scope_and_problem(tmp_path: Path, text: str, scope: str | None,
                                            problem: str) -> None:
    path = tmp_path / "scopes.toml"
    path.write_text(text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    err = info.value
    assert err.source == str(path) and str(path) in str(err)
    assert problem in err.problem
    if scope is not None:
        assert err.scope == scope and repr(scope) in str(err)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read file"):
        load_catalog(tmp_path / "missing.toml")


def test_symbolic_audiences_resolve_or_name_the_unknown_symbol() -> None:
    from scopegate.scopes import catalog_from_mapping

    catalog = catalog_from_mapping({"scopes": {
        "openid": {}, "keys:read": {"audience": "@management"},
        "apps:read": {"audience": "https://api.example"}}})
    resolved = catalog.resolve_audiences({"@management": "https://id.example/api/v1/",
                                          "@userinfo": "https://id.example/userinfo"})
    assert resolved.audiences(["keys:read"]) == ("https://id.example/api/v1/",)
    # OpenID Connect: openid is the UserInfo scope unless the catalog says otherwise.
    assert resolved.audiences(["openid"]) == ("https://id.example/userinfo",)
    assert resolved.audiences(["apps:read"]) == ("https://api.example",)
    with pytest.raises(CatalogError, match="unknown audience '@management'"):
        catalog.resolve_audiences({"@userinfo": "https://id.example/userinfo"})
