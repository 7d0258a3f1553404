"""Read a page's POSTed form with the same limits as the OAuth endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidRequest, OAuthError
from ..shared import Context, parse_form
from .render import Link, message_page
from .sessions import BrowserSession

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["FormHandler", "csrf_checked", "read_csrf_form", "read_form"]

#: A page's POST handler once its form passed the checks: (request, session, form).
FormHandler = Callable[[Request, BrowserSession, dict[str, str]], Awaitable[Response]]


async def read_form(request: Request, state: ServerState) -> dict[str, str]:
    """Return the single-valued fields of a form-encoded body.

    :raises InvalidRequest: wrong content type, too large, malformed or a repeated field.
    """
    ctx = Context(request=request, server=state)
    await parse_form(ctx)
    out: dict[str, str] = {}
    for key, values in ctx.form.items():
        if len(values) > 1:
            raise InvalidRequest(f"field {key!r} is repeated")
        out[key] = values[0]
    return out


async def read_csrf_form(request: Request, *, expired: str, require_login: bool = False,
                         back: Link | None = None,
                         ) -> tuple[BrowserSession, dict[str, str]] | Response:
    """Read a page's POST: the session cookie, the form, and its CSRF token.

    Returns the session and the form, or the page to answer instead: "Bad request" for
    a malformed form, "Session expired" (403, ``expired`` as the advice) when the cookie
    is missing, the CSRF token does not match, or ``require_login`` and nobody is in
    (the session ended, expired, or its user was disabled). ``back`` links to where the
    flow starts again, when the page knows.
    """
    state: ServerState = request.app.state.server
    session = await state.user_grants.sessions.read(request)
    try:
        form = await read_form(request, state)
    except OAuthError as exc:
        return message_page("Bad request", exc.description, status=exc.status_code,
                            error_code=exc.error, back=back,
                            next_step="Go back, reload the page and try again.")
    if (session is None or (require_login and not session.logged_in)
            or not session.csrf_matches(form.get("csrf"))):
        return message_page("Session expired", "This page was open too long, or you "
                            "signed out meanwhile.", status=403, error_code="invalid_csrf",
                            next_step=expired, back=back)
    return session, form


def csrf_checked(*, expired: str, require_login: bool = False, back: Link | None = None,
                 ) -> Callable[[FormHandler], Callable[[Request], Awaitable[Response]]]:
    """Make a page's POST endpoint that runs ``handler`` only after :func:`read_csrf_form`."""

    def wrap(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            read = await read_csrf_form(request, expired=expired, require_login=require_login,
                                        back=back)
            if isinstance(read, Response):
                return read
            return await handler(request, *read)
        return endpoint

    return wrap
