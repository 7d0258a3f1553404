"""``POST /api/v1/usage``: guards report aggregated usage; the answer carries the audience
mode the operator chose for that resource (issue 15).

A guard authenticates with its own client credentials (HTTP Basic) and may report only for
a resource it serves (``resource_servers``). A report is counts, never tokens or request
data: per client, API key, SDK product and version, whether the token carried the
resource's audience, and the scopes the route needed. Sizes are strict; a report is stored
whole or not at all.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...errors import InvalidRequest, UnauthorizedClient
from ...store.models.base import utcnow
from ...store.repositories.usage import AudienceModes, UsageRepository, UsageRow
from ..management.json_body import json_body
from ..management.openapi import error_responses, json_response
from ..shared import Context, action, no_store
from ..shared.client_auth import client_auth
from ..shared.responses import JSONResponse

__all__ = ["MAX_ROWS", "PATH", "UsageReport", "routes"]

PATH = "/api/v1/usage"
MAX_ROWS = 1000
_Label = Annotated[str, StringConstraints(max_length=64, pattern=r"^[\x21-\x7e]*$")]
_Version = Annotated[str, StringConstraints(max_length=32, pattern=r"^[\x21-\x7e]*$")]
_Scope = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]


class UsageCountIn(BaseModel):
    """One aggregated count."""

    model_config = ConfigDict(extra="forbid")

    client_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    key_id: _Label = ""
    sdk: _Label = "unknown"
    sdk_version: _Version = ""
    audience: bool
    scopes: Annotated[list[_Scope], Field(max_length=16)] = []
    count: Annotated[int, Field(ge=1, le=10**9)]


class UsageReport(BaseModel):
    """A batch of counts for one resource (what the guard could not send: ``dropped``)."""

    model_config = ConfigDict(extra="forbid")

    resource: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    counts: Annotated[list[UsageCountIn], Field(max_length=MAX_ROWS)]
    dropped: Annotated[int, Field(ge=0, le=10**12)] = 0


def _rows(report: UsageReport) -> list[UsageRow]:
    return [UsageRow(c.client_id, c.key_id, c.sdk, c.sdk_version, c.audience,
                     " ".join(sorted(set(c.scopes))), c.count) for c in report.counts]


async def receive_report(ctx: Context) -> Response:
    """Check the reporter serves the resource, store the counts, answer with the mode."""
    client = ctx.require_client()
    report = await json_body(ctx, UsageReport, required=True)
    if report.resource not in client.resource_servers:
        raise UnauthorizedClient(f"client {client.client_id!r} is not a guard of "
                                 f"{report.resource!r}")
    rows = _rows(report)
    if len({(r.client_id, r.key_id, r.sdk, r.sdk_version, r.audience_ok, r.scopes)
            for r in rows}) != len(rows):
        raise InvalidRequest("each combination may appear once in a report")
    db = ctx.server.db
    stored = await run_in_threadpool(UsageRepository(db).add, report.resource, rows, utcnow())
    mode = await run_in_threadpool(AudienceModes(db).get, report.resource)
    return JSONResponse({"accepted": stored, "audience_mode": mode})


usage_endpoint = action("usage_report", [no_store, client_auth(), receive_report])

routes: list[BaseRoute] = [Route(PATH, usage_endpoint, methods=["POST"], name="usage_report")]

openapi_paths: dict[str, Any] = {PATH: {"post": {
    "summary": "A guard's aggregated usage report (answers with the resource's audience mode)",
    "operationId": "usageReport",
    "security": [{"clientBasic": []}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["resource", "counts"],
        "properties": {"resource": {"type": "string"}, "dropped": {"type": "integer"},
                       "counts": {"type": "array", "items": {"type": "object"}}}}}}},
    "responses": {"200": json_response("Accepted", {
        "type": "object", "properties": {"accepted": {"type": "integer"},
                                         "audience_mode": {"type": ["string", "null"]}}}),
        **error_responses(400, 401)}}}}
