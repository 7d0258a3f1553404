"""``/admin/rollout``: can this resource enforce its audience yet? (seed 000)

Per resource: the mode its guards apply, requests without the audience per hour over the
last 7 days (an inline SVG chart, no script), who sent them (client, SDK product and
version, last seen) and a verdict. The operator switches the mode here; guards follow at
their next report (within ``SCOPEGATE_GUARD_USAGE_REPORT`` seconds), at once with Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ...store import Database
from ...store.models.base import utcnow
from ...store.repositories.usage import AudienceModes, CallerSeen, UsageRepository, hour_of
from ..admin.audience import MODES, known_resources, set_audience_mode
from ..admin.errors import AdminError
from ..admin.resources import catalog_resources
from ..state import ServerState
from .access import Operator, operator_form, operator_page
from .docs import console_get, console_post

__all__ = ["PATH", "routes"]

PATH = "/admin/rollout"
WINDOW_DAYS = 7
_HOURS = WINDOW_DAYS * 24


@dataclass(frozen=True)
class Bar:
    x: int
    height: float
    count: int
    label: str


@dataclass(frozen=True)
class Rollout:
    resource: str
    mode: str | None
    total: int
    missing: int
    callers: list[CallerSeen]
    bars: list[Bar]
    days: list[tuple[int, str]]
    verdict: str
    ready: bool


def _chart(by_hour: dict[datetime, int], now: datetime) -> tuple[list[Bar], list[tuple[int, str]]]:
    start = hour_of(now) - timedelta(hours=_HOURS - 1)
    peak = max(by_hour.values(), default=0) or 1
    bars, days = [], []
    for index in range(_HOURS):
        hour = start + timedelta(hours=index)
        count = by_hour.get(hour, 0)
        if count:
            bars.append(Bar(index * 4, round(100 * count / peak, 1), count,
                            f"{hour:%a %H}:00 UTC: {count}"))
        if hour.hour == 0:
            days.append((index * 4, f"{hour:%a %d}"))
    return bars, days


def _verdict(total: int, missing: int, refused: list[CallerSeen], mode: str | None
             ) -> tuple[str, bool]:
    if total == 0:
        return ("No reports in the last 7 days: start this resource's guards with "
                "SCOPEGATE_GUARD_USAGE_REPORT (and their client credentials)."), False
    if missing == 0:
        done = " (enforcing)" if mode == "enforce" else ""
        return f"Ready: no request without the audience in the last 7 days{done}.", True
    return (f"Not ready: {missing} request(s) without the audience in the last 7 days, "
            f"from {len(refused)} client and SDK version(s)."), False


def rollout_of(db: Database, resource: str, now: datetime) -> Rollout:
    usage, since = UsageRepository(db), now - timedelta(days=WINDOW_DAYS)
    by_hour = usage.missing_by_hour(resource, since)
    callers = usage.callers(resource, since)
    mode, total = AudienceModes(db).get(resource), usage.total(resource, since)
    missing = sum(by_hour.values())
    bars, days = _chart(by_hour, now)
    verdict, ready = _verdict(total, missing, [c for c in callers if c.missing], mode)
    return Rollout(resource, mode, total, missing, callers, bars, days, verdict, ready)


def _static(state: ServerState) -> list[str]:
    return list(catalog_resources(state.catalog, state.settings))


@operator_page
async def rollout_page(request: Request, operator: Operator) -> Response:
    state = request.app.state.server
    db = state.db
    resources = await run_in_threadpool(known_resources, db, _static(state))
    wanted = request.query_params.get("resource") or (resources[0] if resources else "")
    if wanted and wanted not in resources:
        return operator.render("admin/rollout.html", PATH, status=404, resources=resources,
                               view=None, modes=MODES, error=f"No resource {wanted[:200]!r}.")
    view = await run_in_threadpool(rollout_of, db, wanted, utcnow()) if wanted else None
    switched = request.query_params.get("switched")
    notice = (f"Switched to {switched}. Every guard of this resource follows within its "
              "report interval (at once with Redis).") if switched in MODES else None
    return operator.render("admin/rollout.html", PATH, resources=resources, view=view,
                           modes=MODES, notice=notice)


@operator_form
async def switch_mode(request: Request, operator: Operator, form: dict[str, str]) -> Response:
    resource, mode = form.get("resource", ""), form.get("mode", "")
    state = request.app.state.server
    try:
        await run_in_threadpool(set_audience_mode, state.db, resource, mode, operator.user.id,
                                _static(state))
    except AdminError as exc:
        resources = await run_in_threadpool(known_resources, state.db, _static(state))
        return operator.render("admin/rollout.html", PATH, status=400, resources=resources,
                               view=None, modes=MODES, error=str(exc))
    query = urlencode({"resource": resource, "switched": mode})
    return RedirectResponse(f"{PATH}?{query}", status_code=303)


routes: list[BaseRoute] = [
    Route(PATH, rollout_page, methods=["GET"], name="console_rollout"),
    Route(PATH + "/mode", switch_mode, methods=["POST"], name="console_rollout_mode"),
]

openapi_paths: dict[str, Any] = {
    PATH: console_get("Audience rollout of a resource", "console_rollout", ("resource",)),
    PATH + "/mode": console_post("Switch a resource's audience mode", "console_rollout_mode",
                                 ("resource", "mode")),
}
