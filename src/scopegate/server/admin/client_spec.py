"""What a new client may be: checked without the store, so bad input stores nothing.

:func:`client_spec` turns what an operator typed into a :class:`ClientSpec` (canonical
grant types and scopes, the server's redirect-URI rule, RFC 8707 resource identifiers)
or raises :class:`~.errors.Invalid` naming the first problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ...scopes import Catalog, ScopeError
from ..oauth2.grants.base import GRANT_TYPE_URN_PREFIX, normalize_grant_type
from ..oauth2.redirect_uri import MAX_REDIRECT_URI_LENGTH, validate_registered
from ..shared.urls import http_url_problem
from .errors import Invalid, quoted

__all__ = ["MAX_NAME_LENGTH", "ClientSpec", "checked_label", "client_spec",
           "default_scopes_for"]

MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """A client ready to store: canonical grant types and scope names."""

    name: str
    grant_types: tuple[str, ...]
    allowed_scopes: frozenset[str]
    default_scopes: frozenset[str]
    redirect_uris: tuple[str, ...] = ()
    resource_servers: tuple[str, ...] = ()
    public: bool = False


def checked_label(value: str, what: str, max_length: int) -> str:
    """``value`` stripped, if it is 1 to ``max_length`` printable characters (a newline
    or NUL would break tables, logs and PostgreSQL).

    :raises Invalid: naming ``what``.
    """
    clean = value.strip()
    if not 0 < len(clean) <= max_length:
        raise Invalid(f"{what} must be 1 to {max_length} characters")
    if not clean.isprintable():
        raise Invalid(f"{what} must not contain control characters such as a newline, "
                      "tab or NUL")
    return clean


def default_scopes_for(catalog: Catalog, allowed: frozenset[str]) -> frozenset[str]:
    """What a token request without ``scope`` gets: the catalog defaults the client may
    use, else everything it may use."""
    return catalog.defaults_within(allowed)


def _redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be registered, in words a person can act on, or None."""
    problem = http_url_problem(uri, MAX_REDIRECT_URI_LENGTH, example=" without a fragment")
    if problem is None and "#" in uri:
        return "must be an absolute http(s) URL without a fragment"
    return problem


def _checked_redirect_uri(uri: str) -> str:
    problem = _redirect_uri_problem(uri)
    if problem is not None:
        raise Invalid(f"redirect URI {quoted(uri)} {problem}")
    try:
        return validate_registered(uri)  # the server's rule: plain http on loopback only
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def _checked_resource_server(uri: str) -> str:
    """A resource identifier (RFC 8707 §2): an absolute URI without a fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        parts = None
    if (parts is None or not parts.scheme or not parts.netloc or "#" in uri
            or len(uri) > MAX_REDIRECT_URI_LENGTH or any(c.isspace() for c in uri)):
        raise Invalid(f"--resource-server {quoted(uri)} must be an absolute URI without a "
                      "fragment, e.g. https://api.example.com")
    return uri


TOKEN_EXCHANGE = GRANT_TYPE_URN_PREFIX + "token-exchange"


def _checked_grants(grants: Sequence[str], public: bool, redirect_uris: Sequence[str]
                    ) -> tuple[str, ...]:
    try:
        canonical = tuple(sorted({normalize_grant_type(g) for g in grants}))
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    if public and "client_credentials" in canonical:
        raise Invalid("a public client cannot use client_credentials (it has no secret)")
    if "authorization_code" in canonical and not redirect_uris:
        raise Invalid("authorization_code needs at least one --redirect-uri")
    if public and TOKEN_EXCHANGE in canonical:
        raise Invalid("a public client cannot use token exchange (it has no secret)")
    return canonical


def _checked_scopes(catalog: Catalog, scopes: Sequence[str] | None) -> frozenset[str]:
    try:
        allowed = catalog.parse_list(scopes) if scopes is not None else catalog.default_scopes
    except ScopeError as exc:
        raise Invalid(str(exc)) from None
    if not allowed:
        raise Invalid("give at least one --scope")
    return allowed


def client_spec(catalog: Catalog, *, name: str, grants: Sequence[str] = ("client_credentials",),
                scopes: Sequence[str] | None = None, redirect_uris: Sequence[str] = (),
                public: bool = False, resource_servers: Sequence[str] = ()) -> ClientSpec:
    """Check a new client's settings; ``scopes`` None means the catalog's defaults.

    :raises Invalid: the first problem, in one sentence.
    """
    label = checked_label(name, "--name", MAX_NAME_LENGTH)
    grant_types = _checked_grants(grants, public, redirect_uris)
    uris = tuple(_checked_redirect_uri(u) for u in redirect_uris)
    if public and resource_servers:
        raise Invalid("a public client cannot be a resource server (it cannot authenticate "
                      "to introspect)")
    served = tuple(_checked_resource_server(u) for u in resource_servers)
    if TOKEN_EXCHANGE in grant_types and not served:
        raise Invalid("token exchange needs --resource-server: the API whose callers' "
                      "tokens this client exchanges")
    allowed = _checked_scopes(catalog, scopes)
    return ClientSpec(label, grant_types, allowed, default_scopes_for(catalog, allowed),
                      uris, served, public)
