"""How recent and how strong a sign-in must be (OIDC Core §3.1.2.1, RFC 9470).

``max_age`` asks for a sign-in at most that many seconds old; ``acr_values`` names the
authentication context classes the client accepts, in order of preference. Password
sign-in is the one method this server has, so :data:`ACR_PASSWORD` is the one class
it can satisfy; a request naming only classes it cannot meet is refused with
``unmet_authentication_requirements`` (OpenID Connect Core Unmet Authentication
Requirements 1.0) rather than answered with a weaker sign-in the resource would refuse.

A sign-in the authorization endpoint demanded (``prompt=login`` or a session older than
``max_age``) is proven by a signed mark on the way back from the login page: the time
the demand was made. A session that began at or after it satisfies the demand, so the
second-granularity clock cannot loop a ``max_age=0`` request back to the login page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import InvalidRequest, OAuthError

if TYPE_CHECKING:
    from ..pages.sessions import BrowserSessions

__all__ = ["ACR_PASSWORD", "ACR_VALUES_SUPPORTED", "LOGIN_MARK", "UnmetAuthenticationRequirements",
           "choose_acr", "login_mark", "mark_time", "read_max_age"]

ACR_PASSWORD = "urn:scopegate:acr:password"
ACR_VALUES_SUPPORTED = (ACR_PASSWORD,)
LOGIN_MARK = "sg_login"  # the query parameter carrying the signed demand time
_MARK_SALT = "scopegate.login-demand"
_MARK_MAX_AGE_S = 600
_MAX_AGE_DIGITS = 9  # about 31 years: anything longer is a mistake
_MAX_ACR_VALUES = 10
_MAX_ACR_LENGTH = 200


class UnmetAuthenticationRequirements(OAuthError):
    """The requested authentication context class cannot be met here."""

    error = "unmet_authentication_requirements"


def read_max_age(raw: str | None) -> int | None:
    """``max_age`` as seconds, or None when absent.

    :raises InvalidRequest: not a non-negative whole number of seconds.
    """
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > _MAX_AGE_DIGITS:
        raise InvalidRequest("max_age must be a whole number of seconds (0 or more)")
    return int(raw)


def choose_acr(raw: str | None) -> str:
    """The class this sign-in will carry: the first of ``acr_values`` we support.

    :raises InvalidRequest: ``acr_values`` is malformed.
    :raises UnmetAuthenticationRequirements: none of the values is supported.
    """
    if raw is None:
        return ACR_PASSWORD
    values = raw.split()
    if not values or len(values) > _MAX_ACR_VALUES \
            or any(len(v) > _MAX_ACR_LENGTH or not v.isprintable() for v in values):
        raise InvalidRequest(f"acr_values must be 1 to {_MAX_ACR_VALUES} space-separated "
                             f"values of at most {_MAX_ACR_LENGTH} characters")
    for value in values:
        if value in ACR_VALUES_SUPPORTED:
            return value
    raise UnmetAuthenticationRequirements(
        "none of the requested acr_values can be met here; this server supports: "
        + " ".join(ACR_VALUES_SUPPORTED))


def login_mark(sessions: BrowserSessions, now: int) -> str:
    """The signed mark of a sign-in demanded at ``now`` (epoch seconds)."""
    return sessions.sign({"t": now}, _MARK_SALT)


def mark_time(sessions: BrowserSessions, value: str | None) -> int | None:
    """When the sign-in carried by ``value`` was demanded; None if absent, forged or old."""
    if not value:
        return None
    data = sessions.unsign(value, _MARK_SALT, _MARK_MAX_AGE_S)
    found = data.get("t") if data is not None else None
    return found if isinstance(found, int) else None
