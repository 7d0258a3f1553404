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
    namespace = data.get("namespace", "scopegate")
    if not isinstance(namespace, str) or not is_scope_token(namespace) or ":" in namespace:
        raise CatalogError(source, None, "'namespace' must be a scope token without ':'")
    raw_scopes = data.get("scopes")
    if not isinstance(raw_scopes, dict) or not raw_scopes:
        raise CatalogError(source, None, "the catalog needs a non-empty [scopes] table")

    names: dict[str, str] = {}  # name or alias -> canonical
    raw_implies: dict[str, list[str]] = {}
    partial: dict[str, dict[str, Any]] = {}
    for name, body in raw_scopes.items():
        if not is_scope_token(name) or "*" in name:
            raise CatalogError(source, name, "name breaks the RFC 6749 scope-token grammar")
        if not isinstance(body, dict):
            raise CatalogError(source, name, "must be a table")
        unknown = set(body) - _SCOPE_KEYS
        if unknown:
            raise CatalogError(source, name, f"unknown key(s): {', '.join(sorted(unknown))}")
        if name in names:
            raise CatalogError(source, name, f"name already used as an alias of {names[name]!r}")
        names[name] = name
        aliases = _str_list(body.get("aliases", []), source, name, "aliases")
        for alias in aliases:
            if not is_scope_token(alias) or "*" in alias:
                raise CatalogError(source, name, f"alias {alias!r} breaks the scope grammar")
            if alias in names:
                raise CatalogError(source, name, f"alias {alias!r} is used twice")
            names[alias] = name
        description = body.get("description", "")
        public = body.get("public", True)
        audience = body.get("audience")
        if not isinstance(description, str):
            raise CatalogError(source, name, "'description' must be a string")
        if not isinstance(public, bool):
            raise CatalogError(source, name, "'public' must be true or false")
        if audience is not None and (not isinstance(audience, str) or not audience):
            raise CatalogError(source, name, "'audience' must be a non-empty string")
        if isinstance(audience, str) and audience.startswith("@") \
                and not _SYMBOL.fullmatch(audience):
            raise CatalogError(source, name, "a symbolic 'audience' is @ and a lowercase name")
        if name == OPENID and audience is None:
            audience = USERINFO_SYMBOL
        raw_implies[name] = _str_list(body.get("implies", []), source, name, "implies")
        partial[name] = {"description": description, "aliases": tuple(aliases),
                         "public": public, "audience": audience}

    canonical = [n for n in raw_scopes]
    direct: dict[str, set[str]] = {}
    for name, implied in raw_implies.items():
        targets: set[str] = set()
        for item in implied:
            if item.endswith("*"):
                prefix = item[:-1]
                # Wildcards reach public scopes only: a public scope such as `all`
                # must never cover an internal admin scope by accident.
                matched = {n for n in canonical
                           if n.startswith(prefix) and n != name and partial[n]["public"]}
                if not matched:
                    raise CatalogError(source, name, f"wildcard {item!r} matches no scope")
                targets |= matched
            elif item in names:
                targets.add(names[item])
            else:
                raise CatalogError(source, name, f"implies unknown scope {item!r}")
        targets.discard(name)
        direct[name] = targets

    closure = _closures(direct, source)
    scopes = [ScopeDef(name=n, implies=frozenset(direct[n]), **partial[n]) for n in canonical]

    defaults = _str_list(data.get("default_scopes", []), source, None, "default_scopes")
    for item in defaults:
        if item not in names:
            raise CatalogError(source, None, f"default_scopes names unknown scope {item!r}")
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

    return Catalog(
        namespace=namespace,
        scopes=scopes,
        closure=closure,
        default_scopes=(names[d] for d in defaults),
        roles=roles,
        source=source,
    )


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
