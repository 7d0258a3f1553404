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

from dataclasses import replace
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
from ..pages.client_info import client_info, image_source
from ..pages.forms import read_form
from ..pages.login import LOGIN_PATH, LOGOUT_PATH
from ..pages.render import Link, allow_image, message_page, page, scope_rows
from ..pages.sessions import BrowserSession
from ..pkce import challenge as pkce
from ..shared.user_grants import cap_to_role
from .auth_level import LOGIN_MARK, choose_acr, login_mark, mark_time, read_max_age
from .authorization_request import AuthorizationRequest, PageError, error_redirect, issue_code
from .pushed import must_push, pushed_params, spend
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


def _error_page(exc: PageError) -> Response:
    """The error page: what went wrong, what to do, and back to the app if we know it."""
    app, back = "the application", None
    if exc.client is not None:
        shown = client_info(exc.client.name, exc.client.client_metadata)
        app = shown.name
        back = Link(shown.home, f"Back to {shown.name}") if shown.home else None
    return message_page(
        "This sign-in link is not valid", f"{exc.text[:1].upper()}{exc.text[1:]}.",
        status=400, error_code=exc.error, back=back,
        next_step=f"Go back to {app} and start signing in again. If this happens again, "
                  "tell the people who run it: the link it sent you here with is wrong.")


async def _read_params(request: Request, state: ServerState) -> dict[str, str]:
    if request.method == "POST":
        try:
            return await read_form(request, state)
        except OAuthError as exc:
            raise PageError(exc.description) from None
    if len(request.url.query) > MAX_QUERY_BYTES:
        raise PageError("the authorization request is too long")
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in params:
            raise PageError(f"parameter {key!r} is repeated")
        params[key] = value
    return params


async def client_and_redirect(state: ServerState, params: dict[str, str], pushed: bool
                              ) -> tuple[ClientRecord, str]:
    """The client and its redirect URI (a request not pushed must be allowed to be)."""
    client_id = params.get("client_id")
    if not client_id or len(client_id) > 256:
        raise PageError("the request does not name a client (client_id)")
    try:
        client = await state.clients.get(client_id)
    except OAuthError as exc:  # e.g. a client ID metadata document that cannot be used
        raise PageError(exc.description or exc.error, exc.error) from None
    if client is None:
        raise PageError("this application is not registered here", "invalid_client")
    if not pushed and (state.settings.par_required or must_push(client)):
        raise PageError("this authorization request must be pushed first (RFC 9126): POST it "
                        "to the pushed_authorization_request_endpoint, then send request_uri")
    requested = params.get("redirect_uri")
    if not requested:
        raise PageError("the request has no redirect_uri", client=client)
    redirect_uri = match_redirect_uri(client.redirect_uris, requested)
    if redirect_uri is None:
        raise PageError("the redirect_uri is not registered for this application",
                        client=client)
    return client, redirect_uri


async def validate_request(state: ServerState, client: ClientRecord, redirect_uri: str,
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
    max_age = read_max_age(params.get("max_age"))
    choose_acr(params.get("acr_values"))  # refuses what no sign-in here can satisfy
    return AuthorizationRequest(client.client_id, redirect_uri, scopes, resources, st, nonce,
                                challenge.challenge, challenge.method, prompt, max_age)


def _restart(state: ServerState, params: dict[str, str], *, mark: bool) -> str:
    """This request again, for after a sign-in (without ``prompt=login``; with ``mark``,
    the signed time of this demand, which a sign-in after it satisfies: no loop)."""
    back = {k: v for k, v in params.items() if k != LOGIN_MARK}  # an earlier demand's
    prompt = [p for p in back.pop("prompt", "").split() if p != "login"]
    if prompt:
        back["prompt"] = " ".join(prompt)
    if mark:
        sessions = state.user_grants.sessions
        back[LOGIN_MARK] = login_mark(sessions, int(sessions.clock().timestamp()))
    return AUTHORIZE_PATH + "?" + urlencode(back)


def _login_redirect(state: ServerState, params: dict[str, str]) -> RedirectResponse:
    """Go to the login page, then come back here."""
    back = _restart(state, params, mark=True)
    return RedirectResponse(LOGIN_PATH + "?" + urlencode({"next": back}), status_code=302)


async def authorize(request: Request) -> Response:
    """GET or POST ``/oauth/authorize``."""
    state: ServerState = request.app.state.server
    services = state.user_grants
    pushed = None
    try:
        query = await _read_params(request, state)
        params, pushed = await pushed_params(state, query)
        client, redirect_uri = await client_and_redirect(state, params, pushed is not None)
        req = replace(await validate_request(state, client, redirect_uri, params),
                      pushed=pushed)
    except PageError as exc:
        return _error_page(exc)
    except OAuthError as exc:
        await spend(state, pushed)
        return error_redirect(redirect_uri, exc, params.get("state"), state.settings.issuer)
    try:
        session = await services.sessions.read(request)
        user = session.user if session is not None else None
        if session is None or user is None or _sign_in_demanded(state, req, session, query):
            if "none" in req.prompt:
                raise LoginRequired("the user is not logged in"
                                    if user is None else "a fresh sign-in is required")
            return _login_redirect(state, query)
        cap_to_role(state.catalog, user.role, req.scopes)
        granted = await run_in_threadpool(services.consents.granted, user.id, client.client_id)
        asked = state.catalog.missing(granted, req.scopes)
        if asked or "consent" in req.prompt:
            if "none" in req.prompt:
                raise ConsentRequired("the user has not granted every requested scope")
            return _consent_page(state, session, client, req, query, granted)
        return await issue_code(state, req, user.id, session.auth_time or 0,
                                session.session_id)
    except OAuthError as exc:
        await spend(state, pushed)
        return error_redirect(redirect_uri, exc, params.get("state"), state.settings.issuer)


def _sign_in_demanded(state: ServerState, req: AuthorizationRequest, session: BrowserSession,
                      query: dict[str, str]) -> bool:
    """``prompt=login``, or a sign-in older than ``max_age``, unless this browser signed
    in after the demand (the login page's way back carries its signed time)."""
    sessions = state.user_grants.sessions
    signed_in = session.auth_time or 0
    # At max_age seconds it is too old: so max_age=0 always asks (OIDC Core §3.1.2.1).
    too_old = req.max_age is not None and \
        int(sessions.clock().timestamp()) - signed_in >= req.max_age
    if "login" not in req.prompt and not too_old:
        return False
    since = mark_time(sessions, query.get(LOGIN_MARK))
    return since is None or signed_in < since


def _consent_page(state: ServerState, session: BrowserSession, client: ClientRecord,
                  req: AuthorizationRequest, query: dict[str, str],
                  granted: frozenset[str]) -> Response:
    """Ask the user; "not you?" signs out and comes back to this request (``query``: as
    the browser sent it, a pushed request by its ``request_uri``)."""
    user = session.user
    assert user is not None  # the caller checked
    token = state.user_grants.sessions.sign(req.to_payload(user.id), PENDING_SALT)
    shown = client_info(client.name, client.client_metadata)
    response = page("consent.html", action=DECISION_PATH, csrf=session.csrf,
                    request_token=token, client=shown, email=user.email,
                    scopes=scope_rows(state.catalog, req.scopes, granted),
                    redirect_host=urlsplit(req.redirect_uri).netloc,
                    logout_action=LOGOUT_PATH, restart=_restart(state, query, mark=False))
    return allow_image(response, image_source(shown.logo))


routes: list[BaseRoute] = [
    Route(AUTHORIZE_PATH, authorize, methods=["GET", "POST"], name="authorize"),
]


AUTHORIZE_PARAMS: dict[str, Any] = {
    "response_type": {"type": "string", "enum": ["code"]},
    "client_id": {"type": "string", "maxLength": 256},
    "redirect_uri": {"type": "string", "format": "uri"},
    "scope": {"type": "string", "description": "space-delimited scopes"},
    "state": {"type": "string", "maxLength": MAX_STATE_LENGTH},
    "code_challenge": {"type": "string", "description": "PKCE S256 challenge"},
    "code_challenge_method": {"type": "string", "enum": ["S256"]},
    "nonce": {"type": "string", "maxLength": MAX_NONCE_LENGTH},
    "prompt": {"type": "string", "description": "none, or login and/or consent"},
    "max_age": {"type": "integer", "minimum": 0, "description": "seconds since sign-in"},
    "acr_values": {"type": "string", "description": "accepted classes, preferred first"},
    "request_uri": {"type": "string", "description": "a pushed request (RFC 9126)"},
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
                           for name, schema in AUTHORIZE_PARAMS.items()],
            "responses": _AUTHORIZE_RESPONSES},
    "post": {"summary": "Authorization endpoint, form-encoded (OIDC Core §3.1.2.1)",
             "operationId": "authorize_post",
             "requestBody": form_body(AUTHORIZE_PARAMS, _AUTHORIZE_REQUIRED),
             "responses": _AUTHORIZE_RESPONSES},
}}
