"""The browser session: one signed, HttpOnly cookie holding the user and a CSRF token.

Nothing is stored server-side: the cookie is signed (itsdangerous, HMAC-SHA1 over a
key derived from ``session_secret``) and expires after :data:`SESSION_MAX_AGE_S`. Its
CSRF token is compared in constant time with the ``csrf`` field of every page form.
A successful login replaces the whole cookie, so a fixated pre-login cookie is useless.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, replace

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["COOKIE_NAME", "SESSION_MAX_AGE_S", "BrowserSession", "SessionCodec"]

COOKIE_NAME = "sg_session"
SESSION_MAX_AGE_S = 12 * 3600
MAX_COOKIE_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """What the cookie says: who is logged in (if anyone), since when, and the CSRF token."""

    csrf: str
    user_id: str | None = None
    auth_time: int | None = None

    @property
    def logged_in(self) -> bool:
        """Whether a user is logged in."""
        return self.user_id is not None

    def csrf_matches(self, submitted: str | None) -> bool:
        """Compare a form's CSRF field with the session's, in constant time."""
        return bool(submitted) and hmac.compare_digest(
            self.csrf.encode(), (submitted or "").encode())

    def login(self, user_id: str, now: int | None = None) -> BrowserSession:
        """A fresh session for ``user_id`` with a new CSRF token."""
        return BrowserSession(csrf=secrets.token_urlsafe(24), user_id=user_id,
                              auth_time=int(time.time()) if now is None else now)

    def logout(self) -> BrowserSession:
        """An anonymous session with a new CSRF token."""
        return replace(self, csrf=secrets.token_urlsafe(24), user_id=None, auth_time=None)


class SessionCodec:
    """Reads and writes the session cookie.

    :param secret: the server's session secret.
    :param secure: set the ``Secure`` attribute (an https issuer).
    """

    def __init__(self, secret: str, *, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="scopegate.session")
        self.secure = secure

    def read(self, request: Request) -> BrowserSession | None:
        """The session in the request's cookie, or None if absent, forged or expired."""
        raw = request.cookies.get(COOKIE_NAME)
        if not raw or len(raw) > MAX_COOKIE_LENGTH:
            return None
        try:
            data = self._serializer.loads(raw, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        user_id, auth_time = data.get("u"), data.get("t")
        if not isinstance(user_id, str) or not isinstance(auth_time, int):
            return BrowserSession(csrf=data["c"])
        return BrowserSession(csrf=data["c"], user_id=user_id, auth_time=auth_time)

    def read_or_new(self, request: Request) -> tuple[BrowserSession, bool]:
        """The request's session, or a new anonymous one; the flag says it is new."""
        found = self.read(request)
        if found is not None:
            return found, False
        return BrowserSession(csrf=secrets.token_urlsafe(24)), True

    def write(self, response: Response, session: BrowserSession) -> None:
        """Set the cookie on ``response``."""
        data: dict[str, object] = {"c": session.csrf}
        if session.user_id is not None:
            data["u"], data["t"] = session.user_id, session.auth_time
        response.set_cookie(COOKIE_NAME, self._serializer.dumps(data),
                            max_age=SESSION_MAX_AGE_S, path="/", secure=self.secure,
                            httponly=True, samesite="lax")

    def sign(self, payload: dict[str, object], salt: str) -> str:
        """Sign a small payload for a hidden form field (e.g. a pending authorization)."""
        return URLSafeTimedSerializer(self._serializer.secret_key, salt=salt).dumps(payload)

    def unsign(self, value: str, salt: str, max_age_s: int) -> dict[str, object] | None:
        """Verify a value from :meth:`sign`; None if forged, expired or not a mapping."""
        if len(value) > 8192:
            return None
        try:
            data = URLSafeTimedSerializer(self._serializer.secret_key, salt=salt).loads(
                value, max_age=max_age_s)
        except BadSignature:
            return None
        return data if isinstance(data, dict) else None
