"""RFC 8628 §3.4 and §3.5 device code grant: poll until the person decides.

Answers, in order: ``expired_token`` past the lifetime; ``access_denied`` once denied;
tokens once approved (exactly one poll wins); ``slow_down`` (and the interval grows by
5 s) when polled sooner than the interval; else ``authorization_pending``.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from ...errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    SlowDown,
)
from ...store.models import utcnow
from ..oauth2.grants.authorization_code import refresh_plan_for
from ..oauth2.grants.base import GRANT_TYPE_URN_PREFIX, Grant
from ..shared.context import Context
from ..shared.user_grants import UserGrant, cap_to_role, presented_secret_hash

__all__ = ["DeviceAccessDenied", "DeviceCodeGrant"]

MAX_DEVICE_CODE_LENGTH = 128


class DeviceAccessDenied(AccessDenied):
    """RFC 8628 §3.5 ``access_denied``: a token-endpoint error, so HTTP 400 (§5.2)."""

    status_code = 400


class DeviceCodeGrant(Grant):
    """Exchange an approved device code for tokens, once."""

    grant_type = GRANT_TYPE_URN_PREFIX + "device_code"
    allowed_params = frozenset({"device_code"})
    allows_public_clients = True
    feature = "device_flow"

    async def handle(self, ctx: Context) -> dict[str, Any]:
        client = ctx.require_client()
        services = ctx.server.user_grants
        device_hash = presented_secret_hash(ctx.params, "device_code", MAX_DEVICE_CODE_LENGTH)
        polled = await run_in_threadpool(services.devices.poll, device_hash)
        if polled is None or polled.record.client_id != client.client_id:
            raise InvalidGrant("unknown device code")
        record = polled.record
        if record.status == "consumed":
            raise InvalidGrant("this device code was already exchanged")
        if record.expires_at <= utcnow():
            raise ExpiredToken("the device code has expired; start again")
        if record.status == "denied":
            raise DeviceAccessDenied("the user denied the request")
        if record.status == "pending":
            if polled.too_fast:
                raise SlowDown(f"poll at most every {record.interval} seconds")
            raise AuthorizationPending("waiting for the user to approve")
        if not await run_in_threadpool(services.devices.consume, device_hash):
            raise InvalidGrant("this device code was already exchanged")
        user = await run_in_threadpool(services.users.get, record.user_id or "")
        if user is None or user.disabled or record.auth_time is None:
            raise InvalidGrant("the approving user no longer exists or is disabled")
        cap_to_role(ctx.server.catalog, user.role, record.scopes)
        grant = UserGrant(user=user, auth_time=int(record.auth_time.timestamp()),
                          refresh=refresh_plan_for(ctx, record.scopes, record.resources),
                          session_id=record.session_id)
        return await ctx.server.issuer.issue(
            client=client, subject=user.id, subject_type="user", scopes=record.scopes,
            resources=tuple(ctx.form.get("resource", ())) or record.resources,
            permitted_scopes=record.scopes, grant_type=self.grant_type,
            user_grant=grant)
