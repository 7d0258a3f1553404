"""Token revocation (RFC 7009), with the same client authentication as the token endpoint.

A confidential client authenticates its revocation requests (§2.1); one that did not
would be refused with 401 and its token would stay valid. Every refusal is reported
with what the server answered, never swallowed.
"""

from __future__ import annotations

import httpx

from ._exceptions import RevocationError
from ._flow import Flow
from ._providers import TokenProvider
from ._terminal import terminal_text
from ._tokens import Token

__all__ = ["revoke_flow"]

_MAX_ERROR_BYTES = 4096


def _server_answer(response: httpx.Response) -> str:
    """``HTTP 401 invalid_client (description)``, or just the status for a non-JSON body."""
    shown = f"HTTP {response.status_code}"
    if len(response.content) > _MAX_ERROR_BYTES:
        return shown
    try:
        body = response.json()
    except ValueError:
        return shown
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return shown
    shown += f" {body['error']}"
    if isinstance(body.get("error_description"), str):
        shown += f" ({body['error_description']})"
    return terminal_text(shown, markup=False)


def revoke_flow(provider: TokenProvider, token: Token) -> Flow[bool]:
    """Revoke ``token``'s refresh token, then its access token, at the issuer.

    Returns False when the issuer's metadata names no ``revocation_endpoint`` (nothing
    could be revoked). Raises :class:`RevocationError` when the server refuses.
    """
    metadata = yield from provider.metadata_flow()
    url = metadata.get("revocation_endpoint")
    if not isinstance(url, str):
        return False
    url = provider._secure(url, "revocation_endpoint")  # https, or http on loopback
    for hint, value in (("refresh_token", token.refresh_token),
                        ("access_token", token.access_token)):
        if not value:
            continue
        form = {"token": value, "token_type_hint": hint}
        headers: dict[str, str] = {}
        provider._client_auth(form, headers)  # as the token endpoint: Basic, or client_id
        # bounded, size-capped, and a redirect is refused, never followed (RFC 6749 §10.4)
        response = yield from provider._exchange(provider._request("POST", url, form, **headers))
        if response.status_code != 200:  # RFC 7009 §2.2: 200 even for an unknown token
            raise RevocationError(_server_answer(response), response.status_code)
    return True
