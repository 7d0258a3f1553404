"""Device authorization (RFC 8628 §3.1 to §3.3) and the verification page (§3.3).

``POST /oauth/device_authorization`` is an action like the token endpoint: the client
(public or confidential) asks for scopes and gets a device code, a user code and where
to send the person. ``/device`` is the page: log in, enter or confirm the code, see the
scopes with their descriptions, allow or deny. Wrong user codes are counted per session,
per user and per client address, each counted before the lookup and un-counted when the
code turns out valid; past the free ones each further try waits longer (429). Allow or
Deny on a confirmation page already shown carries a signed proof that this session
entered that code, so it is no guess and is not counted.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ...errors import InvalidScope, OAuthError, UnauthorizedClient
from ...scopes import ScopeError
from ...store.models import utcnow
from ...store.repositories.device_codes import DeviceCodeRecord
from ..management.openapi import error_responses, form_body, html_responses, json_response
from ..oauth2.grants.base import GRANT_TYPE_URN_PREFIX
from ..pages.client_info import client_info, image_source
from ..pages.forms import csrf_checked
from ..pages.login import LOGIN_PATH
from ..pages.render import Link, allow_image, message_page, page, scope_rows
from ..pages.sessions import BrowserSession
from ..pages.throttle import wait_phrase
from ..shared import Context, action
from ..shared.client_request import client_request
from ..shared.responses import JSONResponse
from ..shared.user_grants import cap_to_role, hash_secret
from .guesses import confirm_proof, proven, reserve_guess
from .user_code import format_user_code, new_user_code, normalize_user_code

if TYPE_CHECKING:
    from ...store.repositories import ClientRecord
    from ...store.repositories.users import UserRecord
    from ..state import ServerState

__all__ = ["DEVICE_AUTHORIZATION_PATH", "VERIFICATION_PATH", "feature", "openapi_paths",
           "routes"]

feature = "device_flow"
DEVICE_AUTHORIZATION_PATH = "/oauth/device_authorization"
VERIFICATION_PATH = "/device"
DEVICE_CODE_GRANT = GRANT_TYPE_URN_PREFIX + "device_code"


async def start(ctx: Context) -> Response | None:
    """Validate client and scopes, store the pending authorization, answer §3.2."""
    client = ctx.require_client()
    state = ctx.server
    if DEVICE_CODE_GRANT not in client.grant_types:
        raise UnauthorizedClient("this client may not use the device flow")
    try:
        scopes = state.catalog.requested(ctx.params.get("scope"), client.default_scopes,
                                         client.allowed_scopes)
    except ScopeError as exc:
        raise InvalidScope(str(exc)) from None
    resources = tuple(ctx.form.get("resource", ()))
    raw_scope = ctx.params.get("scope")
    target = await state.issuer.target(client.allowed_scopes, scopes, resources,
                                       defaulted=raw_scope is None)
    if raw_scope is None:
        scopes = target.scopes  # no scope asked: what the resource offers this client
    settings = state.settings
    device_code = secrets.token_urlsafe(32)
    user_code = new_user_code()
    await run_in_threadpool(
        state.user_grants.devices.create, device_code_hash=hash_secret(device_code),
        user_code_hash=hash_secret(user_code), client_id=client.client_id, scopes=scopes,
        resources=resources, interval=settings.device_interval,
        expires_at=utcnow() + timedelta(seconds=settings.device_code_ttl))
    shown = format_user_code(user_code)
    uri = settings.issuer + VERIFICATION_PATH
    return JSONResponse({
        "device_code": device_code,
        "user_code": shown,
        "verification_uri": uri,
        "verification_uri_complete": uri + "?" + urlencode({"user_code": shown}),
        "expires_in": settings.device_code_ttl,
        "interval": settings.device_interval,
    })


device_authorization = action("device_authorization", [
    *client_request(allow_public=True),
    start,
])


# -- the verification page ----------------------------------------------------------------

def _login_first(request: Request) -> RedirectResponse:
    target = VERIFICATION_PATH
    typed = request.query_params.get("user_code")
    if typed and len(typed) <= 32:
        target += "?" + urlencode({"user_code": typed})
    return RedirectResponse(LOGIN_PATH + "?" + urlencode({"next": target}), status_code=302)


async def verification_page(request: Request) -> Response:
    """GET ``/device``: the code form (pre-filled from ``verification_uri_complete``)."""
    state: ServerState = request.app.state.server
    services = state.user_grants
    session = await services.sessions.read(request)
    user = session.user if session is not None else None
    if session is None or user is None:
        return _login_first(request)
    typed = request.query_params.get("user_code", "")[:32]
    return page("device_enter.html", action=VERIFICATION_PATH, csrf=session.csrf,
                email=user.email, user_code=typed, error=None)


def _usable(record: DeviceCodeRecord | None) -> DeviceCodeRecord | None:
    if record is None or record.status != "pending" or record.expires_at <= utcnow():
        return None
    return record


async def _lookup(state: ServerState, code: str | None
                  ) -> tuple[DeviceCodeRecord, ClientRecord] | None:
    if code is None:
        return None
    record = _usable(await run_in_threadpool(state.user_grants.devices.by_user_code,
                                             hash_secret(code)))
    client = None if record is None else await state.clients.get(record.client_id)
    return None if record is None or client is None else (record, client)


async def _find_code(state: ServerState, request: Request, session: BrowserSession,
                     typed: str, proof: str | None
                     ) -> tuple[str, DeviceCodeRecord, ClientRecord] | int | None:
    """The pending code with its record and client; None if wrong; seconds to wait if
    this guess must wait. Only wrong codes stay counted; a proven decision is no guess."""
    code = normalize_user_code(typed)
    ticket = None
    if not proven(state, session, code, proof):
        ticket = await reserve_guess(state, request, session)
        if not ticket.admitted:
            return ticket.retry_after_s
    try:
        found = await _lookup(state, code)
    except Exception:
        if ticket is not None:
            await state.user_grants.throttle.release(ticket)  # an outage is not a guess
        raise
    if code is None or found is None:
        return None
    if ticket is not None:
        await state.user_grants.throttle.release(ticket)
    return code, *found


@csrf_checked(require_login=True, expired="Sign in again and enter the code once more.",
              back=Link(VERIFICATION_PATH, "Enter the code again"))
async def verification_submit(request: Request, session: BrowserSession,
                              form: dict[str, str]) -> Response:
    """POST ``/device``: look the code up (wrong codes throttled), then confirm or decide."""
    state: ServerState = request.app.state.server
    services = state.user_grants
    user = session.user
    if user is None:
        return _login_first(request)
    typed = form.get("user_code", "")
    decision = form.get("decision")

    def retry(error: str, status: int) -> Response:
        return page("device_enter.html", status=status, action=VERIFICATION_PATH,
                    csrf=session.csrf, email=user.email, user_code=typed[:32], error=error)

    found = await _find_code(state, request, session, typed,
                             form.get("confirm") if decision is not None else None)
    if isinstance(found, int):
        response = retry(f"Too many codes tried. Try again in {wait_phrase(found)}.", 429)
        response.headers["Retry-After"] = str(found)
        return response
    if found is None:
        return retry("That code is not valid or has expired. Check your device.", 400)
    code, record, client = found
    if decision is None:
        granted = await run_in_threadpool(services.consents.granted, user.id, client.client_id)
        shown = client_info(client.name, client.client_metadata)
        return allow_image(page(
            "device_confirm.html", action=VERIFICATION_PATH, csrf=session.csrf, client=shown,
            email=user.email, user_code=format_user_code(code),
            confirm=confirm_proof(state, session, code),
            scopes=scope_rows(state.catalog, record.scopes, granted)), image_source(shown.logo))
    if decision not in ("approve", "deny"):
        return retry("Choose Allow or Deny.", 400)
    outcome = await _decide(state, session, user, code, record, client,
                            approve=decision == "approve")
    return outcome or retry("That code is not valid or has expired. Check your device.", 400)


async def _decide(state: ServerState, session: BrowserSession, user: UserRecord, code: str,
                  record: DeviceCodeRecord, client: ClientRecord, *, approve: bool
                  ) -> Response | None:
    """Record Allow or Deny; the result page, or None if the code was used meanwhile."""
    services = state.user_grants
    if approve:
        try:
            cap_to_role(state.catalog, user.role, record.scopes)
        except OAuthError as exc:
            await run_in_threadpool(services.devices.decide, hash_secret(code),
                                    user_id=user.id, approve=False,
                                    auth_time=utcnow())
            return message_page("Request denied", exc.description, status=403,
                                error_code=exc.error, back=Link(VERIFICATION_PATH,
                                                                "Connect a device"),
                                next_step="Ask an administrator for these permissions, "
                                          "or start again on the device asking for fewer.")
    auth_time = (utcnow() if session.auth_time is None
                 else datetime.fromtimestamp(session.auth_time, UTC))
    done = await run_in_threadpool(services.devices.decide, hash_secret(code),
                                   user_id=user.id, approve=approve, auth_time=auth_time,
                                   session_id=session.session_id)
    if not done:
        return None
    if not approve:
        return message_page("Request denied",
                            f"{client.name} was not given access. You can close this page.")
    await run_in_threadpool(services.consents.grant, user.id, client.client_id, record.scopes)
    return message_page("Device connected",
                        f"{client.name} now has access. Return to your device.")


routes: list[BaseRoute] = [
    Route(DEVICE_AUTHORIZATION_PATH, device_authorization, methods=["POST"],
          name="device_authorization"),
    Route(VERIFICATION_PATH, verification_page, methods=["GET"], name="device_verification"),
    Route(VERIFICATION_PATH, verification_submit, methods=["POST"],
          name="device_verification_submit"),
]


openapi_paths: dict[str, Any] = {
    DEVICE_AUTHORIZATION_PATH: {"post": {
        "summary": "Device authorization (RFC 8628 §3.1)",
        "operationId": "device_authorization",
        "security": [{"clientBasic": []}, {}],
        "requestBody": form_body({"client_id": {"type": "string"},
                                  "client_secret": {"type": "string"},
                                  "scope": {"type": "string",
                                            "description": "space-delimited scopes"},
                                  "resource": {"type": "string",
                                               "description": "RFC 8707 target"}}, []),
        "responses": {
            "200": json_response("Device authorization response (RFC 8628 §3.2)", {
                "type": "object",
                "required": ["device_code", "user_code", "verification_uri", "expires_in"],
                "properties": {
                    "device_code": {"type": "string"}, "user_code": {"type": "string"},
                    "verification_uri": {"type": "string"},
                    "verification_uri_complete": {"type": "string"},
                    "expires_in": {"type": "integer"}, "interval": {"type": "integer"}}}),
            **error_responses(400, 401, 413)},
    }},
    VERIFICATION_PATH: {
        "get": {"summary": "Device verification page", "operationId": "device_page",
                "parameters": [{"name": "user_code", "in": "query",
                                "schema": {"type": "string", "maxLength": 32}}],
                "responses": {**html_responses({200: "Enter or confirm the code"}),
                              "302": {"description": "Log in first"}}},
        "post": {"summary": "Look up, approve or deny a user code (wrong codes throttled)",
                 "operationId": "device_decision",
                 "requestBody": form_body({
                     "csrf": {"type": "string"}, "user_code": {"type": "string"},
                     "decision": {"type": "string", "enum": ["approve", "deny"]},
                     "confirm": {"type": "string", "description":
                                 "from the confirmation page: this session entered the code"},
                 }, ["csrf", "user_code"]),
                 "responses": {
                     **html_responses({
                         200: "The scopes to confirm, or the result",
                         400: "Malformed form, unknown or expired code",
                         403: "Session expired, CSRF mismatch, or scopes beyond the role",
                         413: "The form is too large",
                         429: "Too many codes tried"}),
                     "302": {"description": "Log in first"}}},
    },
}
