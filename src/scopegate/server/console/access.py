"""Who may open the console: signed-in operators only (``scopegate users create --admin``).

A visitor who is not signed in goes to the login page and comes back; a signed-in user who
is not an operator gets a 403 page. Every POST also passes the pages' CSRF check. An admin
layer refusal (bad input, not found) is shown on the page it came from, never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ...store.repositories.users import UserRecord
from ..pages.forms import read_csrf_form
from ..pages.login import LOGIN_PATH
from ..pages.render import message_page, page
from ..pages.sessions import BrowserSession

__all__ = ["Operator", "console_page", "operator_form", "operator_page"]


class Operator:
    """The signed-in operator and their session (for the CSRF token of the next form)."""

    def __init__(self, session: BrowserSession, user: UserRecord) -> None:
        self.session, self.user = session, user

    def render(self, template: str, here: str, *, status: int = 200, **context: Any) -> Response:
        return console_page(template, self, here, status=status, **context)


def console_page(template: str, operator: Operator, here: str, *, status: int = 200,
                 **context: Any) -> Response:
    """A console page: the nav knows where we are and who is signed in."""
    return page(template, status=status, here=here, csrf=operator.session.csrf,
                operator=operator.user.email, **context)


def _refused(user: UserRecord | None, path: str) -> Response | None:
    if user is None:
        return RedirectResponse(f"{LOGIN_PATH}?next={quote(path, safe='/')}", status_code=303)
    if not user.is_operator:
        return message_page("Operators only", "The console is for operators of this "
                            "server. Ask one to run: scopegate users create --admin … "
                            "for your account, or sign in as an operator.", status=403,
                            error_code="access_denied")
    return None


def operator_page(handler: Callable[[Request, Operator], Awaitable[Response]]
                  ) -> Callable[[Request], Awaitable[Response]]:
    """A console GET: only for a signed-in operator."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        session = await request.app.state.server.user_grants.sessions.read(request)
        user = session.user if session is not None else None
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        refused = _refused(user, here)
        if refused is not None or session is None or user is None:
            return refused or message_page("Sign in", "Sign in first.", status=401)
        return await handler(request, Operator(session, user))

    return endpoint


def operator_form(handler: Callable[[Request, Operator, dict[str, str]], Awaitable[Response]]
                  ) -> Callable[[Request], Awaitable[Response]]:
    """A console POST: CSRF-checked, only for a signed-in operator."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        read = await read_csrf_form(request, expired="The console form expired. Go back "
                                    "and reload the page.", require_login=True)
        if isinstance(read, Response):
            return read
        session, form = read
        refused = _refused(session.user, "/admin")
        if refused is not None or session.user is None:
            return refused or message_page("Sign in", "Sign in first.", status=401)
        return await handler(request, Operator(session, session.user), form)

    return endpoint
