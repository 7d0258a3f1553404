"""Load and validate a ``scopes.toml`` catalog.

File format::

    namespace = "scopegate"            # prefix of the special scopes (<ns>:all, ...)
    default_scopes = ["api"]           # what a new client gets when none are named

    [roles]                            # which scopes each workspace role may hold
    member = ["api", "apps:read"]

    [scopes."apps:read"]
    description = "Read apps"
    aliases = ["read_apps"]            # accepted on input; the first is the legacy name
    public = true                      # false: internal, never requestable by keys/clients
    implies = ["apps:list", "apps:*"]  # other scopes or a wildcard ("*" = every public scope)
    audience = "https://api.example"   # RFC 8707 resource of tokens carrying it

An audience may be symbolic, ``@name``: a resource of the authorization server itself
whose URI depends on its issuer (``@management`` for ``/api/v1/*``, ``@userinfo``). The
server resolves the symbols with :meth:`Catalog.resolve_audiences` at start-up. OpenID
Connect defines ``openid`` as the scope of UserInfo, so an ``openid`` declared without an
audience targets ``@userinfo``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ._catalog import Catalog, ScopeDef
from ._errors import CatalogError
from ._grammar import is_scope_token
from ._well_known import OPENID

__all__ = ["DEFAULT_CATALOG_NAME", "catalog_from_mapping", "default_catalog", "load_catalog"]

DEFAULT_CATALOG_NAME = "default.toml"
_SCOPE_KEYS = {"description", "aliases", "public", "implies", "audience"}
_TOP_KEYS = {"namespace", "default_scopes", "roles", "scopes"}
_SYMBOL = re.compile(r"@[a-z][a-z0-9_]{0,31}")
USERINFO_SYMBOL = "@userinfo"


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load a catalog file, or the bundled default when ``path`` is None."""
    if path is None:
        return default_catalog()
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(source, None, f"cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CatalogError(source, None, f"not UTF-8 text (byte {exc.start})") from None
    return _from_text(text, source)


_default: Catalog | None = None


def default_catalog() -> Catalog:
    """Return the bundled default catalog (loaded once)."""
    global _default
    if _default is None:
        text = resources.files(__package__).joinpath(DEFAULT_CATALOG_NAME).read_text("utf-8")
        _default = _from_text(text, f"<bundled {DEFAULT_CATALOG_NAME}>")
    return _default


def _from_text(text: str, source: str) -> Catalog:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(source, None, f"invalid TOML: {exc}") from None
    return catalog_from_mapping(data, source)


def _str_list(value: Any, source: str, scope: str | None, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(source, scope, f"{key!r} must be a list of strings")
    return list(value)


def catalog_from_mapping(data: Mapping[str, Any], source: str = "<memory>") -> Catalog:
    """Validate a parsed TOML document and build the catalog."""
    extra = set(data) - _TOP_KEYS
    if extra:
        raise CatalogError(source, None, f"unknown top-level key(s): {', '.join(sorted(extra))}")
    namespace = _namespace(data, source)
    table = _scope_table(data, source)
    direct = _direct_implications(table, source)
    scopes = [ScopeDef(name=n, implies=frozenset(direct[n]), **table.fields[n])
              for n in table.fields]
    return Catalog(
        namespace=namespace,
        scopes=scopes,
        closure=_closures(direct, source),
        default_scopes=_default_scopes(data, table.names, source),
        roles=_roles(data, table.names, source),
        source=source,
    )


def _namespace(data: Mapping[str, Any], source: str) -> str:
    namespace = data.get("namespace", "scopegate")
    if not isinstance(namespace, str) or not is_scope_token(namespace) or ":" in namespace:
        raise CatalogError(source, None, "'namespace' must be a scope token without ':'")
    return namespace


@dataclass
class _ScopeTable:
    """The ``[scopes]`` table read: what each scope is, before implications are resolved."""

    names: dict[str, str] = field(default_factory=dict)  # name or alias -> canonical
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # canonical, file order
    implies: dict[str, list[str]] = field(default_factory=dict)  # as written


def _scope_table(data: Mapping[str, Any], source: str) -> _ScopeTable:
    raw_scopes = data.get("scopes")
    if not isinstance(raw_scopes, dict) or not raw_scopes:
        raise CatalogError(source, None, "the catalog needs a non-empty [scopes] table")
    table = _ScopeTable()
    for name, body in raw_scopes.items():
        _read_scope(table, name, body, source)
    return table


def _read_scope(table: _ScopeTable, name: str, body: Any, source: str) -> None:
    if not is_scope_token(name) or "*" in name:
        raise CatalogError(source, name, "name breaks the RFC 6749 scope-token grammar")
    if not isinstance(body, dict):
        raise CatalogError(source, name, "must be a table")
    unknown = set(body) - _SCOPE_KEYS
    if unknown:
        raise CatalogError(source, name, f"unknown key(s): {', '.join(sorted(unknown))}")
    if name in table.names:
        raise CatalogError(source, name,
                           f"name already used as an alias of {table.names[name]!r}")
    table.names[name] = name
    aliases = _str_list(body.get("aliases", []), source, name, "aliases")
    for alias in aliases:
        if not is_scope_token(alias) or "*" in alias:
            raise CatalogError(source, name, f"alias {alias!r} breaks the scope grammar")
        if alias in table.names:
            raise CatalogError(source, name, f"alias {alias!r} is used twice")
        table.names[alias] = name
    description = body.get("description", "")
    public = body.get("public", True)
    if not isinstance(description, str):
        raise CatalogError(source, name, "'description' must be a string")
    if not isinstance(public, bool):
        raise CatalogError(source, name, "'public' must be true or false")
    audience = _audience(name, body.get("audience"), source)
    table.implies[name] = _str_list(body.get("implies", []), source, name, "implies")
    table.fields[name] = {"description": description, "aliases": tuple(aliases),
                          "public": public, "audience": audience}


def _audience(name: str, audience: Any, source: str) -> str | None:
    if audience is not None and (not isinstance(audience, str) or not audience):
        raise CatalogError(source, name, "'audience' must be a non-empty string")
    if isinstance(audience, str) and audience.startswith("@") \
            and not _SYMBOL.fullmatch(audience):
        raise CatalogError(source, name, "a symbolic 'audience' is @ and a lowercase name")
    if name == OPENID and audience is None:
        return USERINFO_SYMBOL
    return audience


def _direct_implications(table: _ScopeTable, source: str) -> dict[str, set[str]]:
    """What each scope implies by canonical name, wildcards expanded, itself left out."""
    direct: dict[str, set[str]] = {}
    for name, implied in table.implies.items():
        targets: set[str] = set()
        for item in implied:
            if item.endswith("*"):
                targets |= _wildcard(table, name, item, source)
            elif item in table.names:
                targets.add(table.names[item])
            else:
                raise CatalogError(source, name, f"implies unknown scope {item!r}")
        targets.discard(name)
        direct[name] = targets
    return direct


def _wildcard(table: _ScopeTable, name: str, item: str, source: str) -> set[str]:
    # Wildcards reach public scopes only: a public scope such as `all` must never cover
    # an internal admin scope by accident.
    prefix = item[:-1]
    matched = {n for n, fields in table.fields.items()
               if n.startswith(prefix) and n != name and fields["public"]}
    if not matched:
        raise CatalogError(source, name, f"wildcard {item!r} matches no scope")
    return matched


def _default_scopes(data: Mapping[str, Any], names: Mapping[str, str],
                    source: str) -> list[str]:
    defaults = _str_list(data.get("default_scopes", []), source, None, "default_scopes")
    for item in defaults:
        if item not in names:
            raise CatalogError(source, None, f"default_scopes names unknown scope {item!r}")
    return [names[d] for d in defaults]


def _roles(data: Mapping[str, Any], names: Mapping[str, str],
           source: str) -> dict[str, frozenset[str]]:
    raw_roles = data.get("roles", {})
    if not isinstance(raw_roles, dict):
        raise CatalogError(source, None, "[roles] must be a table")
    roles: dict[str, frozenset[str]] = {}
    for role, members in raw_roles.items():
        listed = _str_list(members, source, None, f"roles.{role}")
        bad = [m for m in listed if m not in names]
        if bad:
            raise CatalogError(source, None, f"role {role!r} names unknown scope {bad[0]!r}")
        roles[role] = frozenset(names[m] for m in listed)
    return roles


def _closures(direct: Mapping[str, set[str]], source: str) -> dict[str, frozenset[str]]:
    """Transitive closure of ``implies``; a cycle is an error naming one scope on it."""
    done: dict[str, frozenset[str]] = {}
    visiting: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> frozenset[str]:
        if name in done:
            return done[name]
        if name in visiting:
            cycle = " -> ".join((*path[path.index(name):], name))
            raise CatalogError(source, name, f"implication cycle: {cycle}")
        visiting.add(name)
        out: set[str] = set()
        for target in direct[name]:
            out.add(target)
            out |= visit(target, (*path, name))
        visiting.discard(name)
        done[name] = frozenset(out)
        return done[name]

    for name in direct:
        visit(name, ())
    return done
