"""Client metadata (RFC 7591 §2) checked into a :class:`ClientMetadata`, or refused.

Every problem is an :class:`~.errors.InvalidRedirectUri` or
:class:`~.errors.InvalidClientMetadata` naming the member, so bad input stores nothing.
Members we do not understand are ignored (RFC 7591 §2); those we keep without a column
of their own (``client_uri``, ``logo_uri``, ``contacts``…) are bounded and echoed back.
What an anonymous caller may ask for is narrower: see :mod:`.policy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from ...scopes import Catalog, ScopeError, format_scope
from ..admin.client_spec import ClientSpec, client_spec
from ..admin.errors import Invalid
from ..oauth2.grants.base import normalize_grant_type
from ..oauth2.pushed import REQUIRE_PUSHED
from ..oauth2.redirect_uri import MAX_REDIRECT_URI_LENGTH, validate_registered
from .errors import InvalidClientMetadata, InvalidRedirectUri

__all__ = ["AUTH_METHODS", "MAX_CLIENT_NAME", "MAX_REDIRECT_URIS", "ClientMetadata",
           "read_metadata"]

MAX_REDIRECT_URIS = 10
MAX_CLIENT_NAME = 100
MAX_TEXT = 200
MAX_CONTACTS = 5
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
_URL_MEMBERS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
_TEXT_MEMBERS = ("software_id", "software_version")
DEFAULT_NAME = "unnamed client"


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """What a client asked to be, checked: ready for the admin layer."""

    spec: ClientSpec
    auth_method: str
    extras: Mapping[str, Any] = field(default_factory=dict)

    def stored(self) -> dict[str, Any]:
        """What ``clients.client_metadata`` keeps: the auth method and the extras."""
        return {"token_endpoint_auth_method": self.auth_method, **self.extras}


def _strings(body: Mapping[str, Any], name: str, limit: int) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadata(f"{name} must be an array of strings")
    if len(value) > limit:
        raise InvalidClientMetadata(f"{name} may have at most {limit} entries")
    return list(value)


def _text(body: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value.strip()) <= limit \
            or not value.isprintable():
        raise InvalidClientMetadata(f"{name} must be 1 to {limit} printable characters")
    return value.strip()


def _redirect_uris(body: Mapping[str, Any], web_only: bool) -> tuple[str, ...]:
    uris = _strings(body, "redirect_uris", MAX_REDIRECT_URIS) or []
    for uri in uris:
        if len(uri) > MAX_REDIRECT_URI_LENGTH:
            raise InvalidRedirectUri(f"a redirect URI is longer than "
                                     f"{MAX_REDIRECT_URI_LENGTH} characters")
        if "#" in uri:
            raise InvalidRedirectUri(f"redirect URI {uri[:100]!r} must not have a fragment")
        try:
            validate_registered(uri)
            parts = urlsplit(uri)
        except ValueError:
            raise InvalidRedirectUri(
                f"redirect URI {uri[:100]!r} must be an absolute https URL, or http on "
                "127.0.0.1, [::1] or localhost") from None
        if parts.username is not None or parts.password is not None:
            raise InvalidRedirectUri(f"redirect URI {uri[:100]!r} must not carry a user name")
        if web_only and parts.scheme not in ("http", "https"):
            raise InvalidRedirectUri(
                f"redirect URI {uri[:100]!r}: a private-use scheme needs an initial access "
                "token; use https or a loopback http URI")
    return tuple(dict.fromkeys(uris))


def _grant_types(body: Mapping[str, Any]) -> tuple[str, ...]:
    grants = _strings(body, "grant_types", 8)
    try:
        return tuple(sorted({normalize_grant_type(g) for g in grants or ["authorization_code"]}))
    except ValueError as exc:
        raise InvalidClientMetadata(str(exc)) from None


def _auth_method(body: Mapping[str, Any], anonymous: bool) -> str:
    method = body.get("token_endpoint_auth_method")
    if method is None:
        # RFC 7591's default is client_secret_basic; a server may substitute (§3.2.1), and
        # an anonymous caller can only get a public client, so it gets "none" (echoed).
        return "none" if anonymous else "client_secret_basic"
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(
            f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    return str(method)


def _response_types(body: Mapping[str, Any], grants: tuple[str, ...]) -> None:
    types = _strings(body, "response_types", 4)
    if types is None:
        return
    if not set(types) <= {"code"}:
        raise InvalidClientMetadata("response_types may contain only code")
    if ("code" in types) != ("authorization_code" in grants):
        raise InvalidClientMetadata(
            "response_types code goes with grant_types authorization_code (RFC 7591 §2.1)")


def _scopes(body: Mapping[str, Any], catalog: Catalog, anonymous: bool
            ) -> tuple[frozenset[str], frozenset[str] | None]:
    """(allowed scopes, default scopes or None for the catalog's).

    An anonymous public client may ask for any public scope later (step-up adds scopes;
    restricting it would protect nothing, since anyone may register another): its
    ``scope`` becomes its default. With an initial access token ``scope`` is the limit.
    """
    public = frozenset(scope.name for scope in catalog.public())
    raw = body.get("scope")
    if raw is None:
        return public, None
    if not isinstance(raw, str) or len(raw) > 2000:
        raise InvalidClientMetadata("scope must be a space-delimited string")
    try:
        scopes = catalog.parse(raw)
    except ScopeError as exc:
        raise InvalidClientMetadata(str(exc)) from None
    if not scopes:
        raise InvalidClientMetadata("scope must name at least one scope")
    if not anonymous:
        return scopes, None
    if not scopes <= public:
        raise InvalidClientMetadata(
            f"scope {format_scope(scopes - public)} needs an initial access token")
    return public, scopes


def _url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" and not (parts.scheme == "http"
                                        and parts.hostname in ("127.0.0.1", "::1", "localhost")):
        raise InvalidClientMetadata(f"{name} must be an https URL")
    return value


def _extras(body: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _URL_MEMBERS:
        value = _text(body, name, MAX_REDIRECT_URI_LENGTH)
        if value is not None:
            out[name] = _url(value, name)
    for name in _TEXT_MEMBERS:
        value = _text(body, name, MAX_TEXT)
        if value is not None:
            out[name] = value
    bound = body.get("dpop_bound_access_tokens")  # RFC 9449 §5.2
    if bound is not None:
        if not isinstance(bound, bool):
            raise InvalidClientMetadata("dpop_bound_access_tokens must be true or false")
        out["dpop_bound_access_tokens"] = bound
    contacts = _strings(body, "contacts", MAX_CONTACTS)
    if contacts:
        if any(not 0 < len(c) <= MAX_TEXT or not c.isprintable() for c in contacts):
            raise InvalidClientMetadata(f"each contact must be 1 to {MAX_TEXT} characters")
        out["contacts"] = contacts
    pushed = body.get(REQUIRE_PUSHED)
    if pushed is not None:
        if not isinstance(pushed, bool):
            raise InvalidClientMetadata(f"{REQUIRE_PUSHED} must be true or false")
        out[REQUIRE_PUSHED] = pushed
    return out


def read_metadata(body: Any, catalog: Catalog, *, anonymous: bool) -> ClientMetadata:
    """Check RFC 7591 metadata and build the client it describes.

    :param anonymous: no initial access token came with it: only web redirect URIs and
        public scopes are allowed (what else is refused is the policy's business).
    :raises InvalidRedirectUri: a redirect URI is malformed, has a fragment, or is plain
        http off loopback.
    :raises InvalidClientMetadata: any other member is malformed or unknown.
    """
    if not isinstance(body, dict):
        raise InvalidClientMetadata("the body must be a JSON object of client metadata")
    redirect_uris = _redirect_uris(body, web_only=anonymous)
    grants = _grant_types(body)
    _response_types(body, grants)
    method = _auth_method(body, anonymous)
    scopes, defaults = _scopes(body, catalog, anonymous)
    name = _text(body, "client_name", MAX_CLIENT_NAME) or DEFAULT_NAME
    try:
        spec = client_spec(catalog, name=name, grants=grants, scopes=sorted(scopes),
                           redirect_uris=redirect_uris, public=method == "none")
    except Invalid as exc:
        text = str(exc).replace("--redirect-uri", "redirect_uris").replace("--scope", "scope")
        raise InvalidClientMetadata(text) from None
    if defaults is not None:
        spec = replace(spec, default_scopes=defaults)
    return ClientMetadata(spec, method, _extras(body))
