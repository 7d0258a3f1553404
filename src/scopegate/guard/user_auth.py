"""RFC 9470 step-up at the resource: a route may need a recent or a stronger sign-in.

A route declares it with ``requires("apps:delete", max_age=300)`` (or ``acr_values``):
the token's ``auth_time`` must be at most ``max_age`` seconds old and its ``acr`` one of
``acr_values``. Otherwise the answer is 401 with a Bearer challenge
``error="insufficient_user_authentication"`` naming what is needed (RFC 9470 §3), so the
client can sign the user in again with those values and retry once. A token without
``auth_time`` or ``acr`` (client credentials, an API key) never satisfies a requirement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scopegate.errors import OAuthError, bearer_challenge

__all__ = ["InsufficientUserAuthentication", "UserAuthRequirement", "check_user_auth",
           "user_auth_requirement"]

_LEEWAY_S = 2  # clock skew between the authorization server and this resource


@dataclass(frozen=True, slots=True)
class UserAuthRequirement:
    """How recent (``max_age`` seconds) and how strong (``acr_values``) a sign-in must be."""

    max_age: int | None = None
    acr_values: tuple[str, ...] = ()

    def merged(self, other: UserAuthRequirement | None) -> UserAuthRequirement:
        """Both requirements at once: the shorter age; the classes both accept."""
        if other is None:
            return self
        ages = [a for a in (self.max_age, other.max_age) if a is not None]
        acr = (tuple(a for a in self.acr_values if a in other.acr_values)
               if self.acr_values and other.acr_values
               else self.acr_values or other.acr_values)
        return UserAuthRequirement(min(ages) if ages else None, acr)


def user_auth_requirement(max_age: int | None, acr_values: Iterable[str] | str
                          ) -> UserAuthRequirement | None:
    """Check a declaration's values (at import time: a mistake fails the app's start).

    :raises ValueError: ``max_age`` is not a whole number of seconds, or an acr value is
        empty or holds a space or a quote.
    """
    values = (acr_values,) if isinstance(acr_values, str) else tuple(acr_values)
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)
                                or max_age < 0):
        raise ValueError("max_age must be a whole number of seconds (0 or more)")
    if any(not isinstance(v, str) or not v or any(c in v for c in ' "\\') for v in values):
        raise ValueError("each acr value must be a non-empty string without spaces or quotes")
    if max_age is None and not values:
        return None
    return UserAuthRequirement(max_age, values)


class InsufficientUserAuthentication(OAuthError):
    """RFC 9470 §3: the sign-in behind the token is too old or too weak (401)."""

    error = "insufficient_user_authentication"
    status_code = 401

    def __init__(self, need: UserAuthRequirement, description: str, *,
                 realm: str | None = None) -> None:
        super().__init__(description)
        self.need = need
        params = {"error": self.error, "error_description": description}
        if need.max_age is not None:
            params["max_age"] = str(need.max_age)
        if need.acr_values:
            params["acr_values"] = " ".join(need.acr_values)
        self.headers["WWW-Authenticate"] = bearer_challenge(realm, **params)


def check_user_auth(claims: Mapping[str, Any], need: UserAuthRequirement, *,
                    realm: str | None = None,
                    clock: Callable[[], float] = time.time) -> None:
    """Refuse a token whose sign-in does not meet ``need``.

    :raises InsufficientUserAuthentication: naming what is needed.
    """
    if need.max_age is not None:
        auth_time = claims.get("auth_time")
        if not isinstance(auth_time, int) or isinstance(auth_time, bool):
            raise InsufficientUserAuthentication(
                need, "this needs a user's sign-in and the token tells of none", realm=realm)
        if clock() - auth_time > need.max_age + _LEEWAY_S:
            raise InsufficientUserAuthentication(
                need, f"this needs a sign-in within the last {need.max_age} seconds",
                realm=realm)
    if need.acr_values and claims.get("acr") not in need.acr_values:
        raise InsufficientUserAuthentication(
            need, "this needs a stronger sign-in: " + " or ".join(need.acr_values),
            realm=realm)
