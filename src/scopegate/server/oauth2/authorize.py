"""The authorization endpoint (RFC 6749 §4.1, PKCE RFC 7636, OIDC Core §3.1.2).

Steps, in order: read the parameters (query or form; none may repeat); find the client
and check ``redirect_uri`` — a failure there is shown on a page, never redirected
(§4.1.2.1); then every other check redirects its error to the client with ``state``:
response type, grant permission, PKCE S256, scope (client allowance, then the user's
role), resource, prompt. Then the user must be logged in (``prompt=login`` forces it,
``prompt=none`` forbids asking) and must have consented to every scope (only scopes
not granted before are asked for; ``prompt=consent`` asks again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ...errors import (
    ConsentRequired,
    InvalidRequest,
    InvalidScope,
    LoginRequired,
    OAuthError,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from ...scopes import ScopeError
from ..management.openapi import form_body, html_responses
from ..pages.forms import read_form
from ..pages.login import LOGIN_PATH
from ..pages.render import message_page, page, scope_rows
from ..pages.sessions import BrowserSession
from ..pkce import challenge as pkce
from ..shared.user_grants import cap_to_role
from .authorization_request import AuthorizationRequest, error_redirect, issue_code
from .redirect_uri import match_redirect_uri

if TYPE_CHECKING:
    from ...store.repositories import ClientRecord
    from ..state import ServerState

__all__ = [
    "AUTHORIZE_PATH",
    "DECISION_PATH",
    "PENDING_MAX_AGE_S",
    "PENDING_SALT",
    "AuthorizationRequest",
    "error_redirect",
    "feature",
    "issue_code",
    "openapi_paths",
    "routes",
]

AUTHORIZE_PATH = "/oauth/authorize"
DECISION_PATH = "/oauth/authorize/decision"
PENDING_SALT = "scopegate.authorize"
PENDING_MAX_AGE_S = 600
MAX_QUERY_BYTES = 8192
MAX_STATE_LENGTH = 1024
MAX_NONCE_LENGTH = 255
PROMPTS = frozenset({"none", "login", "consent"})
AUTHORIZATION_CODE = "authorization_code"

feature = "authorization_code"


class _PageError(Exception):
    """A problem with the client or redirect URI: shown to the person, never redirected."""

    def __init__(self, text: str, error: str = "invalid_request") -> None:
        super().__init__(text)
        self.text = text
        self.error = error


async def _read_params(request: Request, state: ServerState) -> dict[str, str]:
    if request.method == "POST":
        try:
            return await read_form(request, state)
        except OAuthError as exc:
            raise _PageError(exc.description) from None
    if len(request.url.query) > MAX_QUERY_BYTES:
        raise _PageError("the authorization request is too long")
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            raise _PageError(f"parameter {key!r} is repeated")
        params[key] = value
    return params


async def _client_and_redirect(state: ServerState, params: dict[str, str]
                               ) -> tuple[ClientRecord, str]:
    client_id = params.get("client_id")
    if not client_id or len(client_id) > 256:
        raise _PageError("the request does not name a client (client_id)")
    try:
        client = await state.clients.get(client_id)
    except OAuthError as exc:  # e.g. a client ID metadata document that cannot be used
        raise _PageError(exc.description or exc.error, exc.error) from None
    if client is None:
        raise _PageError("this application is not registered here", "invalid_client")
    requested = params.get("redirect_uri")
    if not requested:
        raise _PageError("the request has no redirect_uri")
    redirect_uri = match_redirect_uri(client.redirect_uris, requested)
    if redirect_uri is None:
        raise _PageError("the redirect_uri is not registered for this application")
    return client, redirect_uri


async def _validate(state: ServerState, client: ClientRecord, redirect_uri: str,
                    params: dict[str, str]) -> AuthorizationRequest:
    """Everything after the redirect URI is trusted; each failure here is redirected."""
    catalog = state.catalog
    if params.get("response_type") != "code":
        raise UnsupportedResponseType("response_type must be code")
    if AUTHORIZATION_CODE not in client.grant_types:
        raise UnauthorizedClient("this client may not use the authorization code grant")
    challenge = pkce.validate_challenge(params.get("code_challenge"),
                                        params.get("code_challenge_method"))
    try:
        scopes = catalog.requested(params.get("scope"), client.default_scopes,
                                   client.allowed_scopes)
    except ScopeError as exc:
        raise InvalidScope(str(exc)) from None
    resource = params.get("resource")
    resources = (resource,) if resource else ()
    target = await state.issuer.target(client.allowed_scopes, scopes, resources,
                                       defaulted=params.get("scope") is None)
    if params.get("scope") is None:
        scopes = target.scopes  # no scope asked: what the resource offers this client
    prompt = frozenset(params.get("prompt", "").split())
    if not prompt <= PROMPTS:
        raise InvalidRequest("prompt may contain only none, login and consent")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    st, nonce = params.get("state"), params.get("nonce")
    if st is not None and len(st) > MAX_STATE_LENGTH:
        raise InvalidRequest(f"state is longer than {MAX_STATE_LENGTH} characters")
    if nonce is not None and len(nonce) > MAX_NONCE_LENGTH:
        raise InvalidRequest(f"nonce is longer than {MAX_NONCE_LENGTH} characters")
    return AuthorizationRequest(client.client_id, redirect_uri, scopes, resources, st, nonce,
                                challenge.challenge, challenge.method, prompt)


def _login_redirect(params: dict[str, str]) -> RedirectResponse:
    """Go to the login page, then come back here (without ``prompt=login``: no loop)."""
    back = dict(params)
    prompt = [p for p in back.pop("prompt", "").split() if p != "login"]
    if prompt:
        back["prompt"] = " ".join(prompt)
    target = AUTHORIZE_PATH + "?" + urlencode(back)
    return RedirectResponse(LOGIN_PATH + "?" + urlencode({"next": target}), status_code=302)


async def authorize(request: Request) -> Response:
    """GET or POST ``/oauth/authorize``."""
    state: ServerState = request.app.state.server
    services = state.user_grants
    try:
        params = await _read_params(request, state)
        client, redirect_uri = await _client_and_redirect(state, params)
    except _PageError as exc:
        return message_page("This sign-in link is not valid", exc.text, status=400,
                            error_code=exc.error)
    try:
        req = await _validate(state, client, redirect_uri, params)
        session = await services.sessions.read(request)
        user = session.user if session is not None else None
        if session is None or user is None or "login" in req.prompt:
            if "none" in req.prompt:
                raise LoginRequired("the user is not logged in")
            return _login_redirect(params)
        cap_to_role(state.catalog, user.role, req.scopes)
        granted = await run_in_threadpool(services.consents.granted, user.id, client.client_id)
        asked = state.catalog.missing(granted, req.scopes)
        if asked or "consent" in req.prompt:
            if "none" in req.prompt:
                raise ConsentRequired("the user has not granted every requested scope")
            return _consent_page(state, session, client, req, user.id, user.email, granted)
        return await issue_code(state, req, user.id, session.auth_time or 0,
                                session.session_id)
    except OAuthError as exc:
        return error_redirect(redirect_uri, exc, params.get("state"), state.settings.issuer)


def _consent_page(state: ServerState, session: BrowserSession, client: ClientRecord,
                  req: AuthorizationRequest, user_id: str, email: str,
                  granted: frozenset[str]) -> Response:
    token = state.user_grants.sessions.sign(req.to_payload(user_id), PENDING_SALT)
    return page("consent.html", action=DECISION_PATH, csrf=session.csrf,
                request_token=token, client_name=client.name, email=email,
                scopes=scope_rows(state.catalog, req.scopes, granted),
                redirect_host=urlsplit(req.redirect_uri).netloc)


routes: list[BaseRoute] = [
    Route(AUTHORIZE_PATH, authorize, methods=["GET", "POST"], name="authorize"),
]


_AUTHORIZE_PARAMS: dict[str, Any] = {
    "response_type": {"type": "string", "enum": ["code"]},
    "client_id": {"type": "string", "maxLength": 256},
    "redirect_uri": {"type": "string", "format": "uri"},
    "scope": {"type": "string", "description": "space-delimited scopes"},
    "state": {"type": "string", "maxLength": MAX_STATE_LENGTH},
    "code_challenge": {"type": "string", "description": "PKCE S256 challenge"},
    "code_challenge_method": {"type": "string", "enum": ["S256"]},
    "nonce": {"type": "string", "maxLength": MAX_NONCE_LENGTH},
    "prompt": {"type": "string", "description": "none, or login and/or consent"},
    "resource": {"type": "string", "description": "RFC 8707 target"},
}
_AUTHORIZE_REQUIRED = ["response_type", "client_id", "redirect_uri", "code_challenge",
                       "code_challenge_method"]
_AUTHORIZE_RESPONSES: dict[str, Any] = {
    "302": {"description": "To the login page, or back to the client with a code or an "
                           "error (RFC 6749 §4.1.2.1, with state and iss)"},
    **html_responses({200: "The consent page",
                      400: "Unknown client, bad redirect URI or malformed request: shown "
                           "to the person, never redirected"}),
}
openapi_paths: dict[str, Any] = {AUTHORIZE_PATH: {
    "get": {"summary": "Authorization endpoint (RFC 6749 §4.1, PKCE S256 required)",
            "operationId": "authorize",
            "parameters": [{"name": name, "in": "query", "schema": schema,
                            "required": name in _AUTHORIZE_REQUIRED}
                           for name, schema in _AUTHORIZE_PARAMS.items()],
            "responses": _AUTHORIZE_RESPONSES},
    "post": {"summary": "Authorization endpoint, form-encoded (OIDC Core §3.1.2.1)",
             "operationId": "authorize_post",
             "requestBody": form_body(_AUTHORIZE_PARAMS, _AUTHORIZE_REQUIRED),
             "responses": _AUTHORIZE_RESPONSES},
}}
