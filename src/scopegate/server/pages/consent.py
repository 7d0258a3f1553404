"""The consent decision: the consent page posts here (CSRF-checked); approval is
remembered per (user, client) and answered with a code, denial with ``access_denied``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...errors import AccessDenied, OAuthError
from ...store.models import utcnow
from ..management.openapi import form_body, html_responses
from ..oauth2.authorization_request import AuthorizationRequest, error_redirect, issue_code
from ..oauth2.authorize import (
    DECISION_PATH,
    PENDING_MAX_AGE_S,
    PENDING_SALT,
)
from ..shared.user_grants import cap_to_role
from .forms import csrf_checked
from .render import message_page
from .sessions import BrowserSession

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["feature", "openapi_paths", "routes"]

feature = "authorization_code"
_AGAIN = "Go back to the application and sign in again."


@csrf_checked(require_login=True, expired="Go back to the application and sign in again.")
async def decide(request: Request, session: BrowserSession,
                 form: dict[str, str]) -> Response:
    """POST: approve or deny the signed pending request for the logged-in user."""
    state: ServerState = request.app.state.server
    services = state.user_grants
    payload = services.sessions.unsign(form.get("request", ""), PENDING_SALT,
                                       PENDING_MAX_AGE_S)
    if payload is None:
        return message_page("Request expired", "This sign-in request is more than ten "
                            "minutes old.", status=400, error_code="invalid_request",
                            next_step=_AGAIN)
    req, user_id = AuthorizationRequest.from_payload(payload)
    if user_id != session.user_id:
        return message_page("Wrong account", "This request was started by another account.",
                            status=403, error_code="access_denied",
                            next_step="You signed in as someone else meanwhile. Start "
                                      "again from the application to continue as this "
                                      "account.")
    issuer = state.settings.issuer
    decision = form.get("decision")
    if decision not in ("approve", "deny"):
        return message_page("Bad request", "The form did not say Allow or Deny.", status=400,
                            error_code="invalid_request",
                            next_step="Go back and choose Allow or Deny.")
    if decision == "deny":
        if req.pushed is not None:
            await run_in_threadpool(services.pushed.use, req.pushed, utcnow())
        return error_redirect(req.redirect_uri, AccessDenied("the user denied the request"),
                              req.state, issuer, status_code=303)
    user = session.user  # read with the session: one query for both
    client = await state.clients.get(req.client_id)
    if user is None or client is None:
        return message_page("Request no longer valid", "The account or the application "
                            "was removed meanwhile.", status=400,
                            error_code="invalid_request", next_step=_AGAIN)
    try:
        cap_to_role(state.catalog, user.role, req.scopes)
    except OAuthError as exc:
        return error_redirect(req.redirect_uri, exc, req.state, issuer, status_code=303)
    await run_in_threadpool(services.consents.grant, user.id, client.client_id, req.scopes)
    return await issue_code(state, req, user.id, session.auth_time or 0, session.session_id,
                            status_code=303)


routes: list[BaseRoute] = [Route(DECISION_PATH, decide, methods=["POST"], name="consent")]


openapi_paths: dict[str, Any] = {DECISION_PATH: {"post": {
    "summary": "Approve or deny a pending authorization (the consent page's form)",
    "operationId": "consent_decision",
    "requestBody": form_body({
        "csrf": {"type": "string", "description": "the session's CSRF token"},
        "request": {"type": "string", "description": "the signed pending request"},
        "decision": {"type": "string", "enum": ["approve", "deny"]},
    }, ["csrf", "request", "decision"]),
    "responses": {
        "303": {"description": "Back to the client with a code or access_denied"},
        **html_responses({400: "Malformed form, expired request or no decision",
                          403: "Not logged in, CSRF mismatch or another account's request",
                          413: "The form is too large"}),
    },
}}}
