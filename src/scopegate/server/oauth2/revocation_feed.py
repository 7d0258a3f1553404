"""The revocation feed: what a guard without Redis polls (``POST /oauth/revocations``).

A resource server (a client with ``resource_servers``, the guard's introspection
credentials) gets every revocation still in force: revoked access-token ids from the
store (shared by every replica) and what this replica's in-process channel knows (API
keys, clients, users revoked here). A guard polling every ``SCOPEGATE_GUARD_REVOCATION_POLL``
seconds is at most that stale for token ids; with several server replicas and no Redis,
revocations by key, client or user are only seen from the replica that made them.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ...errors import UnauthorizedClient
from ...events import InProcessChannel
from ..management.openapi import error_responses, form_body, json_response
from ..shared import Context, action
from ..shared.client_request import client_request

__all__ = ["PATH", "routes"]

feature = "revocation"  # mounted with RFC 7009 revocation
PATH = "/oauth/revocations"


async def revocation_feed(ctx: Context) -> Response | None:
    """Every revocation in force, for a resource server's guard."""
    if not ctx.require_client().resource_servers:
        raise UnauthorizedClient("only a resource server may read the revocation feed")
    server = ctx.server
    active = await run_in_threadpool(server.denylist.repo.active)
    items: list[dict[str, Any]] = [
        {"kind": "jti", "value": jti, "not_before": None, "expires_at": exp.timestamp()}
        for jti, exp in active.items()]
    if isinstance(server.events, InProcessChannel):
        items += [{"kind": e.kind, "value": e.value,
                   "not_before": None if math.isinf(e.not_before) else e.not_before,
                   "expires_at": e.expires_at}
                  for e in server.events.active() if e.kind != "jti"]
    return JSONResponse({"revocations": items})


feed_endpoint = action("revocation_feed", [*client_request(), revocation_feed])

routes: list[BaseRoute] = [Route(PATH, feed_endpoint, methods=["POST"], name="revocations")]

openapi_paths: dict[str, Any] = {PATH: {"post": {
    "summary": "Revocations in force, for guards without Redis",
    "operationId": "revocationFeed",
    "security": [{"clientBasic": []}],
    "requestBody": form_body({}, []),
    "responses": {"200": json_response("Revocations", {
        "type": "object", "required": ["revocations"],
        "properties": {"revocations": {"type": "array", "items": {"type": "object"}}}}),
        **error_responses(400, 401)}}}}
