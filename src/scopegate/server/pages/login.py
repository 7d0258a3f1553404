"""The login page: email and password, CSRF-protected, wrong passwords throttled.

Each attempt is counted before the password is checked, on two failure counters: the
(account, client address) pair and the client address (:mod:`..throttle`). A successful
login un-counts itself and clears its pair, so only failures add up, and failures from
one address never lock the owner out of another. Past ``SCOPEGATE_LOGIN_*`` free failures
each further try waits longer; while it must wait the page answers 429 with Retry-After
without looking at the password. Unknown emails cost the same argon2 verification as
wrong passwords and are counted the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ...store.repositories.users import UserRecord
from ..crypto.passwords import hash_password, needs_rehash, verify_password_or_dummy
from ..management.openapi import form_body, html_responses
from ..ops.logs import security_event
from ..shared.user_grants import UserGrantServices
from .forms import csrf_checked
from .render import Link, page, safe_next
from .sessions import BrowserSession
from .throttle import client_address, wait_phrase

__all__ = ["LOGIN_PATH", "LOGOUT_PATH", "openapi_paths", "routes"]

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
_WRONG = "Email or password is incorrect."
_DISABLED = "This account is disabled. Ask an administrator to enable it."

async def login_page(request: Request) -> Response:
    """GET: show the form (and give an anonymous session its CSRF token)."""
    state = request.app.state.server
    sessions = state.user_grants.sessions
    session, new = await sessions.read_or_new(request)
    response = page("login.html", action=LOGIN_PATH, csrf=session.csrf, email="",
                    next=safe_next(request.query_params.get("next")), error=None)
    if new:
        sessions.write(response, session)
    return response


async def _check_password(request: Request, email: str, password: str
                          ) -> UserRecord | int | None:
    """The user if the password is right; None if wrong; the seconds to wait if throttled."""
    services: UserGrantServices = request.app.state.server.user_grants
    counters = services.login_limits.counters(email, client_address(request))
    ticket = await services.throttle.reserve(counters)
    if not ticket.admitted:
        security_event(request.scope, "login_throttled", retry_after_s=ticket.retry_after_s)
        return ticket.retry_after_s
    try:
        user = await run_in_threadpool(services.users.by_email, email)
        ok = await run_in_threadpool(verify_password_or_dummy,
                                     user.password_hash if user else None, password)
    except Exception:
        await services.throttle.release(ticket)  # an outage is not a wrong password
        raise
    if user is None or not ok:
        # The user id when the account exists, never what was typed (a password pasted
        # into the email field must not reach the logs).
        security_event(request.scope, "login_failed",
                       reason="unknown_account" if user is None else "wrong_password",
                       user_id=user.id if user else None)
        return None
    await services.throttle.release(ticket, forget={counters[0][0]})
    return user


def _too_many(again: Callable[[str, int], Response], wait_s: int) -> Response:
    response = again(f"Too many sign-in attempts. Try again in {wait_phrase(wait_s)}.", 429)
    response.headers["Retry-After"] = str(wait_s)
    return response


@csrf_checked(expired="Open the sign-in page again.", back=Link(LOGIN_PATH, "Sign in"))
async def login_submit(request: Request, session: BrowserSession,
                       form: dict[str, str]) -> Response:
    """POST: check CSRF, the throttle, then the password; log in and go ``next``."""
    state = request.app.state.server
    services = state.user_grants
    email, password = form.get("email", ""), form.get("password", "")
    target = safe_next(form.get("next"))

    def again(error: str, status: int) -> Response:
        return page("login.html", status=status, action=LOGIN_PATH, csrf=session.csrf,
                    email=email[:320], next=target, error=error)

    if not email or not password:
        return again("Enter your email and password.", 400)
    user = await _check_password(request, email, password)
    if isinstance(user, int):
        return _too_many(again, user)
    if user is None:
        return again(_WRONG, 401)
    if user.disabled:
        security_event(request.scope, "login_failed", reason="account_disabled",
                       user_id=user.id)
        return again(_DISABLED, 403)
    if needs_rehash(user.password_hash):
        await run_in_threadpool(services.users.set_password_hash, user.id,
                                hash_password(password))
    response = RedirectResponse(target, status_code=303)
    await services.sessions.log_in(request, response, user)
    return response


@csrf_checked(expired="Open the sign-in page to continue.", back=Link(LOGIN_PATH, "Sign in"))
async def logout(request: Request, session: BrowserSession,
                 form: dict[str, str]) -> Response:
    """POST: end the session for every copy of the cookie (CSRF-checked); to sign-in.

    With ``next`` ("Not you?" on the consent page) the sign-in page goes back there, so
    another account continues the same authorization request.

    Signing out does not revoke the tokens issued through this browser (their ``sid``):
    as signing out of github.com leaves the gh CLI logged in, a CLI's tokens outlive the
    browser it was approved in. Ending the session from the sessions list
    (:func:`..admin.sessions.end_sessions`) is what revokes them.
    """
    target = LOGIN_PATH
    if form.get("next"):
        target += "?" + urlencode({"next": safe_next(form["next"])})
    response = RedirectResponse(target, status_code=303)
    await request.app.state.server.user_grants.sessions.log_out(request, response)
    return response


routes: list[BaseRoute] = [
    Route(LOGIN_PATH, login_page, methods=["GET"], name="login"),
    Route(LOGIN_PATH, login_submit, methods=["POST"], name="login_submit"),
    Route(LOGOUT_PATH, logout, methods=["POST"], name="logout"),
]


_FORM_ERRORS = {400: "The form is malformed or incomplete",
                403: "The session expired or the CSRF token does not match",
                413: "The form is too large"}
_NEXT = {"type": "string", "description": "a local path to return to after signing in"}
openapi_paths: dict[str, Any] = {
    LOGIN_PATH: {
        "get": {"summary": "Login page", "operationId": "login_page",
                "parameters": [{"name": "next", "in": "query", "schema": _NEXT}],
                "responses": html_responses({200: "The sign-in form"})},
        "post": {"summary": "Log in (CSRF-checked, failures throttled)", "operationId": "login",
                 "requestBody": form_body({
                     "csrf": {"type": "string"}, "email": {"type": "string"},
                     "password": {"type": "string", "format": "password"}, "next": _NEXT,
                 }, ["csrf", "email", "password"]),
                 "responses": {"303": {"description": "Logged in: go to next"},
                               **html_responses({**_FORM_ERRORS,
                                                 401: "Wrong email or password",
                                                 403: "The session expired, the CSRF "
                                                      "token does not match, or the "
                                                      "account is disabled",
                                                 429: "Too many wrong passwords from this "
                                                      "address: wait Retry-After seconds"})}},
    },
    LOGOUT_PATH: {"post": {
        "summary": "Log out", "operationId": "logout",
        "requestBody": form_body({"csrf": {"type": "string"}, "next": _NEXT}, ["csrf"]),
        "responses": {"303": {"description": "Logged out: to the login page"},
                      **html_responses(_FORM_ERRORS)}}},
}
