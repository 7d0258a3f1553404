"""Audit: one structured event per successful guarded call, through standard ``logging``."""

from __future__ import annotations

import logging

from .context import GuardContext

__all__ = ["AUDIT_LOGGER", "emit_audit"]

AUDIT_LOGGER = logging.getLogger("scopegate.audit")


def emit_audit(ctx: GuardContext, status: int | None) -> None:
    """Log who called which route with which scopes, in which workspace, and the status.

    The fields travel in ``extra`` (``audit=True``) so a JSON formatter can ship them as is.
    """
    if not AUDIT_LOGGER.isEnabledFor(logging.INFO) or ctx.auth is None:
        return
    auth, request = ctx.auth, ctx.request
    AUDIT_LOGGER.info(
        "guarded call %s %s -> %s",
        request.method,
        request.route,
        status,
        extra={
            "audit": True,
            "event": "guard.call",
            "subject": auth.subject,
            "subject_type": auth.subject_type,
            "client_id": auth.client_id,
            "actor": _actor(auth.claims.get("act")),
            "token_kind": auth.kind.value,
            "scopes": sorted(ctx.required),
            "method": request.method,
            "route": request.route,
            "workspace": ctx.workspace,
            "status": status,
        },
    )


def _actor(act: object) -> str | None:
    """Who acted for the subject (RFC 8693 ``act.sub``), for a token from an exchange."""
    sub = act.get("sub") if isinstance(act, dict) else None
    return sub if isinstance(sub, str) else None
