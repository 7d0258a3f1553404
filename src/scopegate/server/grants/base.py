"""The grant contract and the registry the token endpoint dispatches on.

A grant is one small class: ``grant_type``, the parameters it reads, whether public
clients may use it, and one ``async handle(ctx)`` returning the token response. Register
it by adding an instance to ``GRANTS`` in :mod:`scopegate.server.app`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from ..settings import Features
from ..shared.context import Context

__all__ = [
    "COMMON_PARAMS",
    "GRANT_TYPE_URN_PREFIX",
    "KNOWN_GRANT_TYPES",
    "Grant",
    "GrantRegistry",
    "normalize_grant_type",
]

GRANT_TYPE_URN_PREFIX = "urn:ietf:params:oauth:grant-type:"
COMMON_PARAMS = frozenset({"grant_type", "client_id", "client_secret", "scope", "resource"})

# Every grant type a client may be registered for, in its canonical spelling: the short
# RFC 6749 names, and RFC 8628's URN for the device grant.
KNOWN_GRANT_TYPES = frozenset({
    "client_credentials",
    "authorization_code",
    "refresh_token",
    GRANT_TYPE_URN_PREFIX + "device_code",
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
    :cvar feature: the :class:`~scopegate.server.settings.Features` flag enabling it.
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


class GrantRegistry(Mapping[str, Grant]):
    """Enabled grants keyed by grant type; the URN form of a short name works too."""

    def __init__(self, grants: Iterable[Grant], features: Features) -> None:
        self._by_type: dict[str, Grant] = {}
        self._canonical: list[str] = []
        for grant in grants:
            if not getattr(features, grant.feature):
                continue
            self._canonical.append(grant.grant_type)
            short = grant.grant_type.removeprefix(GRANT_TYPE_URN_PREFIX)
            for key in (grant.grant_type, short, GRANT_TYPE_URN_PREFIX + short):
                self._by_type[key] = grant

    def __getitem__(self, key: str) -> Grant:
        return self._by_type[key]

    def __iter__(self) -> Any:
        return iter(self._canonical)

    def __len__(self) -> int:
        return len(self._canonical)

    def lookup(self, grant_type: str) -> Grant | None:
        """The grant for a ``grant_type`` parameter, or None."""
        return self._by_type.get(grant_type)

    @property
    def supported(self) -> tuple[str, ...]:
        """Canonical grant types, for metadata ``grant_types_supported``."""
        return tuple(self._canonical)
