"""The pushed authorization request endpoint (RFC 9126 §2).

The client POSTs what it would have put in the authorization URL, authenticated as at
the token endpoint (a public client only names itself). The request is checked exactly
as ``/oauth/authorize`` checks it (the same functions), then stored in the database so
that every replica can use it, and the client gets a single-use ``request_uri`` valid
for ``par_ttl`` seconds (201). A bad request gets its RFC 6749 error as JSON and stores
nothing; a body larger than an authorization URL may be gets 413.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...errors import InvalidRequest, RequestTooLarge
from ...store.models import utcnow
from ..management.openapi import error_responses, form_body, json_response
from ..shared import Context, action
from ..shared.client_request import client_request
from ..shared.user_grants import hash_secret
from .authorization_request import PageError
from .authorize import AUTHORIZE_PARAMS, MAX_QUERY_BYTES, client_and_redirect, validate_request
from .pushed import REQUEST_URI_PREFIX

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["PAR_PATH", "feature", "openapi_paths", "routes"]

feature = "authorization_code"
PAR_PATH = "/oauth/par"
_CREDENTIALS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


def _request_params(ctx: Context) -> dict[str, str]:
    """The authorization parameters pushed (credentials left out), size-checked."""
    size = sum(len(k) + len(v) + 2 for k, values in ctx.form.items() for v in values)
    if size > MAX_QUERY_BYTES:
        raise RequestTooLarge(f"a pushed authorization request may have at most "
                              f"{MAX_QUERY_BYTES} bytes, as an authorization URL")
    if len(ctx.form.get("resource", ())) > 1:
        raise InvalidRequest("send one resource parameter: an access token serves one "
                             "resource")
    params = {k: v for k, v in ctx.params.items() if k not in _CREDENTIALS}
    if "request_uri" in params:
        raise InvalidRequest("request_uri cannot be pushed (RFC 9126 §2.1)")
    client_id = ctx.require_client().client_id
    if params.setdefault("client_id", client_id) != client_id:
        raise InvalidRequest("client_id does not match the authenticated client")
    return params


async def push(ctx: Context) -> Response | None:
    """Check the request as the authorization endpoint would, store it, answer 201."""
    state: ServerState = ctx.server
    params = _request_params(ctx)
    try:
        client, redirect_uri = await client_and_redirect(state, params, True)
    except PageError as exc:
        raise InvalidRequest(exc.text) from None
    await validate_request(state, client, redirect_uri, params)
    request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
    ttl = state.settings.par_ttl
    await run_in_threadpool(
        state.user_grants.pushed.create, request_hash=hash_secret(request_uri),
        client_id=client.client_id, params=params,
        expires_at=utcnow() + timedelta(seconds=ttl))
    return ctx.respond({"request_uri": request_uri, "expires_in": ttl}, status_code=201)


pushed_authorization_request = action("pushed_authorization_request", [
    *client_request(allow_public=True),
    push,
])

routes: list[BaseRoute] = [Route(PAR_PATH, pushed_authorization_request, methods=["POST"],
                                 name="par")]


openapi_paths: dict[str, Any] = {PAR_PATH: {"post": {
    "summary": "Pushed authorization request (RFC 9126)",
    "operationId": "pushed_authorization_request",
    "security": [{"clientBasic": []}, {}],
    "requestBody": form_body({**AUTHORIZE_PARAMS, "client_secret": {"type": "string"}},
                             ["response_type", "redirect_uri", "code_challenge",
                              "code_challenge_method"]),
    "responses": {
        "201": json_response("The request_uri to send to the authorization endpoint", {
            "type": "object", "required": ["request_uri", "expires_in"],
            "properties": {"request_uri": {"type": "string"},
                           "expires_in": {"type": "integer"}}}),
        **error_responses(400, 401, 413),
    }}}}
