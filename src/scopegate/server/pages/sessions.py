"""The browser session: a server-side record, named by a random token in one cookie.

The cookie (signed with itsdangerous over a key derived from ``session_secret``, HttpOnly,
SameSite=Lax) holds the page forms' CSRF token and, once signed in, a random 256-bit
token. The server keeps one row per signed-in browser (:mod:`..store.repositories.sessions`,
by the token's SHA-256 digest) and trusts nothing else: deleting the row (logout, a
password change, a disabled user, an admin) signs out every copy of the cookie on every
replica. A session ends ``session_idle_ttl`` after it was last seen and
``session_absolute_ttl`` after sign-in, whatever the cookie says.

Cost: one indexed read per page request (the session joined with its user). "Last seen"
is written at most once per :data:`TOUCH_EVERY`, so a session may end up to that much
before its idle deadline, never after. A login replaces the whole cookie and ends the
browser's previous session, so a fixated pre-login cookie is useless.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ...store.models import utcnow
from ...store.repositories.sessions import NewSession, SessionRecord, SessionRepository
from ...store.repositories.users import UserRecord
from .render import client_ip

__all__ = ["COOKIE_NAME", "TOUCH_EVERY", "BrowserSession", "BrowserSessions", "SessionCodec"]

COOKIE_NAME = "sg_session"
MAX_COOKIE_LENGTH = 1024
TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_csrf() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """A request's session: the CSRF token and, when signed in, the live record's user."""

    csrf: str
    user: UserRecord | None = None
    session_id: str | None = None
    auth_time: int | None = None

    @property
    def logged_in(self) -> bool:
        """Whether a user is signed in (the server-side session is live)."""
        return self.user is not None

    @property
    def user_id(self) -> str | None:
        """The signed-in user's id, or None."""
        return self.user.id if self.user is not None else None

    def csrf_matches(self, submitted: str | None) -> bool:
        """Compare a form's CSRF field with the session's, in constant time."""
        return bool(submitted) and hmac.compare_digest(
            self.csrf.encode(), (submitted or "").encode())


@dataclass(frozen=True, slots=True)
class _Cookie:
    csrf: str
    token: str | None


class SessionCodec:
    """Reads and writes the signed session cookie, and signs small form payloads.

    :param secret: the server's session secret.
    :param secure: set the ``Secure`` attribute (an https issuer).
    :param max_age_s: the cookie's lifetime (the sessions' absolute lifetime).
    """

    def __init__(self, secret: str, *, secure: bool, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="scopegate.session")
        self.secure = secure
        self.max_age_s = max_age_s

    def load(self, request: Request) -> _Cookie | None:
        """The request's cookie, or None if absent, forged, too old or malformed."""
        raw = request.cookies.get(COOKIE_NAME)
        if not raw or len(raw) > MAX_COOKIE_LENGTH:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age_s)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        token = data.get("s")
        return _Cookie(data["c"], token if isinstance(token, str) else None)

    def dump(self, response: Response, csrf: str, token: str | None = None) -> None:
        """Set the cookie on ``response``."""
        data = {"c": csrf} if token is None else {"c": csrf, "s": token}
        response.set_cookie(COOKIE_NAME, self._serializer.dumps(data), max_age=self.max_age_s,
                            path="/", secure=self.secure, httponly=True, samesite="lax")

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


class BrowserSessions:
    """Signs browsers in and out against the shared session records.

    :param codec: the cookie codec.
    :param repository: the session rows.
    :param idle_s: a session unused this long ends.
    :param absolute_s: a session ends this long after sign-in.
    """

    def __init__(self, codec: SessionCodec, repository: SessionRepository, *, idle_s: int,
                 absolute_s: int) -> None:
        self.codec = codec
        self.repository = repository
        self.idle = timedelta(seconds=idle_s)
        self.absolute = timedelta(seconds=absolute_s)
        self.clock: Callable[[], datetime] = utcnow  # tests move it forward

    async def read(self, request: Request) -> BrowserSession | None:
        """The request's session (anonymous if its record ended), or None without a cookie."""
        cookie = self.codec.load(request)
        if cookie is None:
            return None
        anonymous = BrowserSession(csrf=cookie.csrf)
        if cookie.token is None:
            return anonymous
        found = await run_in_threadpool(self.repository.find, _digest(cookie.token))
        if found is None:
            return anonymous
        record, user = found
        now = self.clock()
        if not self._live(record, now) or user.disabled:
            return anonymous
        if now - record.last_seen_at >= TOUCH_EVERY:
            await run_in_threadpool(self.repository.touch, record.id, now,
                                    self._deadline(record.created_at, now))
        return BrowserSession(csrf=cookie.csrf, user=user, session_id=record.id,
                              auth_time=int(record.created_at.timestamp()))

    async def read_or_new(self, request: Request) -> tuple[BrowserSession, bool]:
        """The request's session, or a new anonymous one; the flag says it is new."""
        found = await self.read(request)
        if found is not None:
            return found, False
        return BrowserSession(csrf=_new_csrf()), True

    def write(self, response: Response, session: BrowserSession) -> None:
        """Give a browser its anonymous session (the login form's CSRF token)."""
        self.codec.dump(response, session.csrf)

    async def log_in(self, request: Request, response: Response,
                     user: UserRecord) -> BrowserSession:
        """Start a session for ``user`` (ending the browser's previous one); set the cookie."""
        previous = self.codec.load(request)
        token, csrf, now = secrets.token_urlsafe(32), _new_csrf(), self.clock()
        new = NewSession(token_hash=_digest(token), user_id=user.id, now=now,
                         expires_at=self._deadline(now, now), client_ip=client_ip(request),
                         user_agent=request.headers.get("user-agent"))
        replaces = _digest(previous.token) if previous and previous.token else None
        record = await run_in_threadpool(self.repository.start, new, replaces)
        self.codec.dump(response, csrf, token)
        return BrowserSession(csrf=csrf, user=user, session_id=record.id,
                              auth_time=int(now.timestamp()))

    async def log_out(self, request: Request, response: Response) -> None:
        """End the request's session for every copy of its cookie; set an anonymous one."""
        cookie = self.codec.load(request)
        if cookie is not None and cookie.token is not None:
            await run_in_threadpool(self.repository.end, _digest(cookie.token))
        self.codec.dump(response, _new_csrf())

    def sign(self, payload: dict[str, object], salt: str) -> str:
        """Sign a small payload for a hidden form field (see :meth:`SessionCodec.sign`)."""
        return self.codec.sign(payload, salt)

    def unsign(self, value: str, salt: str, max_age_s: int) -> dict[str, object] | None:
        """Verify a value from :meth:`sign` (see :meth:`SessionCodec.unsign`)."""
        return self.codec.unsign(value, salt, max_age_s)

    def _live(self, record: SessionRecord, now: datetime) -> bool:
        # Judged by today's settings too, so shortening a lifetime applies at once.
        return (now < record.expires_at and now < record.created_at + self.absolute
                and now < record.last_seen_at + self.idle)

    def _deadline(self, created_at: datetime, now: datetime) -> datetime:
        return min(now + self.idle, created_at + self.absolute)
