"""The grant contract and the registry the token endpoint dispatches on.

A grant is one small class: ``grant_type``, the parameters it reads, whether public
clients may use it, and one ``async handle(ctx)`` returning the token response. Register
it by adding an instance to ``GRANTS`` in :mod:`scopegate.server.app`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ...shared.context import Context
from .registry import GRANT_TYPE_URN_PREFIX

__all__ = [
    "COMMON_PARAMS",
    "GRANT_TYPE_URN_PREFIX",
    "KNOWN_GRANT_TYPES",
    "Grant",
    "normalize_grant_type",
]

COMMON_PARAMS = frozenset({"grant_type", "client_id", "client_secret", "scope", "resource"})

# Every grant type a client may be registered for, in its canonical spelling: the short
# RFC 6749 names, and the URNs of RFC 8628 (device) and RFC 8693 (token exchange).
KNOWN_GRANT_TYPES = frozenset({
    "client_credentials",
    "authorization_code",
    "refresh_token",
    GRANT_TYPE_URN_PREFIX + "device_code",
    GRANT_TYPE_URN_PREFIX + "token-exchange",
})


def normalize_grant_type(value: str) -> str:
    """Return the canonical spelling of a grant type (short name or URN form accepted).

    :raises ValueError: the grant type is unknown.
    """
    short = value.removeprefix(GRANT_TYPE_URN_PREFIX)
    for candidate in (value, short, GRANT_TYPE_URN_PREFIX + short):
        if candidate in KNOWN_GRANT_TYPES:
            return candidate
    raise ValueError(f"unknown grant type {value!r}; use one of "
                     + ", ".join(sorted(KNOWN_GRANT_TYPES)))


class Grant(ABC):
    """One OAuth grant handled at the token endpoint.

    :cvar grant_type: the canonical ``grant_type`` value.
    :cvar allowed_params: parameters this grant reads besides :data:`COMMON_PARAMS`.
    :cvar allows_public_clients: whether a public client (no secret) may use it.
    :cvar feature: the :class:`~scopegate.server.config.settings.Features` flag enabling it.
    """

    grant_type: ClassVar[str]
    allowed_params: ClassVar[frozenset[str]] = frozenset()
    allows_public_clients: ClassVar[bool] = False
    feature: ClassVar[str]

    @abstractmethod
    async def handle(self, ctx: Context) -> dict[str, Any]:
        """Validate the request in ``ctx`` and return the token response body.

        Raise an :class:`~scopegate.errors.OAuthError` for every refusal.
        """
