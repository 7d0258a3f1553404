"""Step: authenticate the client (RFC 6749 §2.3.1 ``client_secret_basic`` and ``_post``).

Only one method per request; a wrong or missing secret is a 401 ``invalid_client`` with a
``WWW-Authenticate`` challenge. Secrets are checked as HMAC-SHA-256 in constant time.
"""

from __future__ import annotations

import binascii
from urllib.parse import unquote

from starlette.responses import Response

from ...errors import InvalidClient, InvalidRequest
from ...tokens import verify_client_secret
from ..ops.logs import security_event
from .action import Step
from .context import Context

__all__ = ["AUTH_METHODS", "MAX_CREDENTIAL_LENGTH", "client_auth", "read_credentials"]

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
MAX_CREDENTIAL_LENGTH = 256


def _from_basic(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("unsupported authorization scheme")
    try:
        # Strict: only the base64 alphabet and correct padding (as b64decode(validate=True)
        # checks, without its per-call regular expression).
        decoded = binascii.a2b_base64(encoded.strip(), strict_mode=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidClient("malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    if "%" in client_id:
        client_id = unquote(client_id, errors="strict")
    if "%" in secret:
        secret = unquote(secret, errors="strict")
    return client_id, secret


def read_credentials(ctx: Context) -> tuple[str | None, str | None, str | None]:
    """Return ``(client_id, secret, method)`` from the request, refusing mixed methods."""
    header = ctx.header("authorization")
    form_id = ctx.params.get("client_id")
    form_secret = ctx.params.get("client_secret")
    if header is not None:
        if form_secret is not None:
            raise InvalidRequest("use one client authentication method, not two")
        try:
            client_id, secret = _from_basic(header)
        except UnicodeDecodeError:
            raise InvalidClient("malformed Basic credentials") from None
        if form_id is not None and form_id != client_id:
            raise InvalidRequest("client_id does not match the Basic credentials")
        return client_id, secret, "client_secret_basic"
    if form_secret is not None:
        if form_id is None:
            raise InvalidClient("client_secret without client_id")
        return form_id, form_secret, "client_secret_post"
    return form_id, None, None


def client_auth(*, allow_public: bool = False) -> Step:
    """Build the step that sets ``ctx.client``; each refusal is a security event.

    :param allow_public: accept a bare ``client_id`` of a public client (the grant must
        then prove possession some other way, e.g. PKCE).
    """

    async def client_auth(ctx: Context) -> Response | None:
        named: list[str] = []  # the client id the request gave, once it was read
        try:
            await _authenticate(ctx, allow_public, named)
        except InvalidClient as exc:
            security_event(ctx.scope, "client_auth_failed",
                           client_id=named[0][:64] if named else None,
                           reason=exc.description)
            raise
        return None

    return client_auth


async def _authenticate(ctx: Context, allow_public: bool, named: list[str]) -> None:
    client_id, secret, _method = read_credentials(ctx)
    if not client_id:
        raise InvalidClient("client authentication required")
    named.append(client_id)
    if len(client_id) > MAX_CREDENTIAL_LENGTH or (
            secret is not None and len(secret) > MAX_CREDENTIAL_LENGTH):
        raise InvalidClient("credentials too long")
    server = ctx.server
    client = await server.clients.get(client_id)
    if secret is None:
        if allow_public and client is not None and client.is_public:
            ctx.client, ctx.client_authenticated = client, False
            return
        raise InvalidClient("client authentication required")
    stored = client.secret_hash if client is not None else None
    if not verify_client_secret(server.pepper, secret, stored) or client is None:
        raise InvalidClient(detail=f"bad credentials for client {client_id[:64]!r}")
    ctx.client, ctx.client_authenticated = client, True
