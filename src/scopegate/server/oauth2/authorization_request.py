"""A validated authorization request (RFC 6749 §4.1.1), carried signed through sign-in
and consent, and the two redirects that end it: a single-use code (§4.1.2) or an error
(§4.1.2.1), each with RFC 9207's ``iss``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ...errors import OAuthError
from ...store.models import utcnow
from ..pages.render import message_page
from ..shared.user_grants import hash_secret
from .redirect_uri import add_query

if TYPE_CHECKING:
    from ...store.repositories import ClientRecord
    from ..state import ServerState

__all__ = ["AuthorizationRequest", "PageError", "error_redirect", "issue_code"]


class PageError(Exception):
    """A problem with the client, redirect URI or ``request_uri``: shown to the person,
    never redirected (RFC 6749 §4.1.2.1)."""

    def __init__(self, text: str, error: str = "invalid_request",
                 client: ClientRecord | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.error = error
        self.client = client  # when known: its error page links back to the app


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request, waiting for login and consent."""

    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    resources: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    prompt: frozenset[str]
    max_age: int | None = None  # OIDC Core §3.1.2.1 / RFC 9470: seconds since sign-in
    pushed: str | None = None  # the pushed request's hash (RFC 9126), used once decided

    def to_payload(self, user_id: str) -> dict[str, Any]:
        """The signed hidden-field form of this request, bound to ``user_id``."""
        return {"c": self.client_id, "r": self.redirect_uri, "s": sorted(self.scopes),
                "res": list(self.resources), "st": self.state, "n": self.nonce,
                "cc": self.code_challenge, "ccm": self.code_challenge_method, "u": user_id,
                "pr": self.pushed}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> tuple[AuthorizationRequest, str]:
        """Rebuild a request (and its user id) from :meth:`to_payload` output."""
        return cls(client_id=data["c"], redirect_uri=data["r"], scopes=frozenset(data["s"]),
                   resources=tuple(data["res"]), state=data["st"], nonce=data["n"],
                   code_challenge=data["cc"], code_challenge_method=data["ccm"],
                   prompt=frozenset(), pushed=data.get("pr")), str(data["u"])


def error_redirect(redirect_uri: str, exc: OAuthError, state: str | None, issuer: str,
                   status_code: int = 302) -> RedirectResponse:
    """Send an error back to the client (RFC 6749 §4.1.2.1, RFC 9207 ``iss``)."""
    params = {"error": exc.error}
    if exc.description:
        params["error_description"] = exc.description[:300]
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return RedirectResponse(add_query(redirect_uri, params), status_code=status_code)


async def issue_code(state: ServerState, req: AuthorizationRequest, user_id: str,
                     auth_time: int, session_id: str | None,
                     status_code: int = 302) -> Response:
    """Store a fresh single-use code, approved in browser session ``session_id``, and
    redirect to the client with it (a pushed request is used up first: a second
    authorization with it gets a page, no code)."""
    now = utcnow()
    if req.pushed is not None and not await run_in_threadpool(
            state.user_grants.pushed.use, req.pushed, now):
        return message_page("This sign-in link was already used",
                            "Start signing in again from the application.", status=400,
                            error_code="invalid_request_uri")
    code = secrets.token_urlsafe(32)
    await run_in_threadpool(
        state.user_grants.codes.create, code_hash=hash_secret(code),
        client_id=req.client_id, user_id=user_id, redirect_uri=req.redirect_uri,
        scopes=req.scopes, resources=req.resources, code_challenge=req.code_challenge,
        code_challenge_method=req.code_challenge_method, nonce=req.nonce,
        auth_time=datetime.fromtimestamp(auth_time, UTC),
        expires_at=now + timedelta(seconds=state.settings.code_ttl), session_id=session_id)
    params = {"code": code}
    if req.state is not None:
        params["state"] = req.state
    params["iss"] = state.settings.issuer
    return RedirectResponse(add_query(req.redirect_uri, params), status_code=status_code)
