"""The login page: email and password, CSRF-protected, failed attempts rate limited.

Every attempt counts against two sliding windows before the password is checked: one
per client IP and one per email address (the limiter has no "peek", so successful
attempts count too; a person never comes near the limits). Unknown emails cost the same
argon2 verification as wrong passwords.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..interactive import install, interactive
from ..pages.forms import read_csrf_form
from ..pages.render import client_ip, page, safe_next
from ..passwords import hash_password, needs_rehash, verify_password_or_dummy
from .openapi import form_body, html_responses

__all__ = ["LOGIN_PATH", "LOGOUT_PATH", "on_startup", "openapi_paths", "routes"]

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
_WRONG = "Email or password is incorrect."
_DISABLED = "This account is disabled. Ask an administrator to enable it."

# The login page is always mounted, so it sets up what every interactive grant shares.
on_startup = install


async def login_page(request: Request) -> Response:
    """GET: show the form (and give an anonymous session its CSRF token)."""
    state = request.app.state.server
    sessions = interactive(state).sessions
    session, new = await sessions.read_or_new(request)
    response = page("login.html", action=LOGIN_PATH, csrf=session.csrf, email="",
                    next=safe_next(request.query_params.get("next")), error=None)
    if new:
        sessions.write(response, session)
    return response


async def _limited(request: Request, email: str) -> int:
    """Count one attempt; return the milliseconds to wait if a window is full, else 0."""
    services = interactive(request.app.state.server)
    limits = services.limits
    by_email = "login:email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    waits = []
    for key, limit in ((f"login:ip:{client_ip(request)}", limits.logins_per_ip),
                       (by_email, limits.logins_per_email)):
        decision = await services.limiter.hit(key, limit=limit, window_s=limits.window_s)
        if not decision.allowed:
            waits.append(decision.retry_after_ms)
    return max(waits, default=0)


async def login_submit(request: Request) -> Response:
    """POST: check CSRF, the rate limits, then the password; log in and go ``next``."""
    state = request.app.state.server
    services = interactive(state)
    read = await read_csrf_form(request, state, services.sessions,
                                expired="Your sign-in form expired. Go back and reload the page.")
    if isinstance(read, Response):
        return read
    session, form = read
    email, password = form.get("email", ""), form.get("password", "")
    target = safe_next(form.get("next"))

    def again(error: str, status: int) -> Response:
        return page("login.html", status=status, action=LOGIN_PATH, csrf=session.csrf,
                    email=email[:320], next=target, error=error)

    if not email or not password:
        return again("Enter your email and password.", 400)
    wait_ms = await _limited(request, email)
    if wait_ms:
        response = again(f"Too many sign-in attempts. Try again in {-(-wait_ms // 1000)} s.",
                         429)
        response.headers["Retry-After"] = str(max(1, -(-wait_ms // 1000)))
        return response
    user = await run_in_threadpool(services.users.by_email, email)
    ok = await run_in_threadpool(verify_password_or_dummy,
                                 user.password_hash if user else None, password)
    if user is None or not ok:
        return again(_WRONG, 401)
    if user.disabled:
        return again(_DISABLED, 403)
    if needs_rehash(user.password_hash):
        await run_in_threadpool(services.users.set_password_hash, user.id,
                                hash_password(password))
    response = RedirectResponse(target, status_code=303)
    await services.sessions.log_in(request, response, user)
    return response


async def logout(request: Request) -> Response:
    """POST: end the session for every copy of the cookie (CSRF-checked); to sign-in."""
    state = request.app.state.server
    sessions = interactive(state).sessions
    read = await read_csrf_form(request, state, sessions,
                                expired="Reload the page and try again.")
    if isinstance(read, Response):
        return read
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    await sessions.log_out(request, response)
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
        "post": {"summary": "Log in (CSRF-checked, rate limited)", "operationId": "login",
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
                                                 429: "Too many attempts"})}},
    },
    LOGOUT_PATH: {"post": {
        "summary": "Log out", "operationId": "logout",
        "requestBody": form_body({"csrf": {"type": "string"}}, ["csrf"]),
        "responses": {"303": {"description": "Logged out: to the login page"},
                      **html_responses(_FORM_ERRORS)}}},
}
