"""``/admin/least-privilege``: scopes granted against scopes used (seed 004).

Per client and per active API key: what it may use, what its requests needed over the
last ``days`` days (from the guards' usage reports), the unused scopes struck through, and
a suggested narrower set. Narrowing is one form: a key is replaced by one holding fewer
scopes (the old key keeps working for a grace period; the new key is shown once); a
client may request only the kept scopes from then on.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...errors import OAuthError
from ...store.models.base import utcnow
from ..admin.errors import AdminError
from ..admin.keys import grace_period
from ..admin.least_privilege import grants_in_use, narrow_client, narrow_key
from ..state import ServerState
from .access import Operator, operator_form, operator_page
from .docs import console_get, console_post

__all__ = ["PATH", "routes"]

PATH = "/admin/least-privilege"
DAY_CHOICES = (7, 30, 90)


def _days(value: str | None) -> int:
    return int(value) if value and value.isdigit() and int(value) in DAY_CHOICES else 30


def _render(state: ServerState, operator: Operator, days: int, *, status: int = 200,
            **context: Any) -> Response:
    grants = grants_in_use(state.db, state.catalog, state.api_keys.list(), utcnow(), days)
    return operator.render("admin/least_privilege.html", PATH, status=status, grants=grants,
                           days=days, day_choices=DAY_CHOICES, **context)


@operator_page
async def least_privilege_page(request: Request, operator: Operator) -> Response:
    state = request.app.state.server
    days = _days(request.query_params.get("days"))
    return await run_in_threadpool(_render, state, operator, days)


def _narrow(state: ServerState, operator: Operator, form: dict[str, str]
            ) -> tuple[str, str | None]:
    """Do the narrowing the form asks for; return (what happened, a new key to show)."""
    keep = [name for name in form.get("keep", "").split() if name]
    target, kind = form.get("id", ""), form.get("kind", "")
    if kind == "key":
        grace = timedelta(days=7) if not form.get("grace") else grace_period(form["grace"])
        record, secret = narrow_key(state.api_keys, state.catalog, target, keep, grace,
                                    operator.user.id)
        return (f"Key {target} narrowed to {' '.join(sorted(keep))}: its holder must switch "
                f"to the new key {record.id} within {grace.days} day(s)."), secret
    if kind == "client":
        narrow_client(state.db, state.catalog, target, keep, operator.user.id)
        return f"Client {target} may now request only {' '.join(sorted(keep))}.", None
    return "Nothing to narrow.", None


@operator_form
async def narrow(request: Request, operator: Operator, form: dict[str, str]) -> Response:
    state = request.app.state.server
    days = _days(form.get("days"))
    try:
        notice, secret = await run_in_threadpool(_narrow, state, operator, form)
    except (AdminError, OAuthError) as exc:
        error = exc.description if isinstance(exc, OAuthError) else str(exc)
        return await run_in_threadpool(_render, state, operator, days, status=400,
                                       error=error)
    return await run_in_threadpool(_render, state, operator, days, notice=notice,
                                   new_key=secret)


routes: list[BaseRoute] = [
    Route(PATH, least_privilege_page, methods=["GET"], name="console_least_privilege"),
    Route(PATH + "/narrow", narrow, methods=["POST"], name="console_narrow"),
]

openapi_paths: dict[str, Any] = {
    PATH: console_get("Scopes granted against scopes used", "console_least_privilege",
                      ("days",)),
    PATH + "/narrow": console_post("Narrow a client or an API key", "console_narrow",
                                   ("kind", "id", "keep", "grace", "days")),
}
