"""The enabled grants of one server, by ``grant_type`` (the token endpoint's dispatch table).

Apart from :mod:`.base` so that :class:`~scopegate.server.state.ServerState` can hold the
registry without importing the request context the grants read (no import cycle).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ...config.settings import Features

__all__ = ["GRANT_TYPE_URN_PREFIX", "GrantHandler", "GrantRegistry"]

GRANT_TYPE_URN_PREFIX = "urn:ietf:params:oauth:grant-type:"


class GrantHandler(Protocol):
    """What the registry needs of a grant (:class:`~.base.Grant` is the one implementation).

    ``handle`` takes the request context; it is typed ``Any`` here only to keep this module
    free of the context, which imports the server state.
    """

    @property
    def grant_type(self) -> str: ...
    @property
    def feature(self) -> str: ...
    @property
    def allowed_params(self) -> frozenset[str]: ...
    @property
    def allows_public_clients(self) -> bool: ...

    async def handle(self, ctx: Any) -> dict[str, Any]: ...


class GrantRegistry(Mapping[str, GrantHandler]):
    """Enabled grants keyed by grant type; the URN form of a short name works too."""

    def __init__(self, grants: Iterable[GrantHandler], features: Features) -> None:
        self._by_type: dict[str, GrantHandler] = {}
        self._canonical: list[str] = []
        for grant in grants:
            if not getattr(features, grant.feature):
                continue
            self._canonical.append(grant.grant_type)
            short = grant.grant_type.removeprefix(GRANT_TYPE_URN_PREFIX)
            for key in (grant.grant_type, short, GRANT_TYPE_URN_PREFIX + short):
                self._by_type[key] = grant

    def __getitem__(self, key: str) -> GrantHandler:
        return self._by_type[key]

    def __iter__(self) -> Any:
        return iter(self._canonical)

    def __len__(self) -> int:
        return len(self._canonical)

    def lookup(self, grant_type: str) -> GrantHandler | None:
        """The grant for a ``grant_type`` parameter, or None."""
        return self._by_type.get(grant_type)

    @property
    def supported(self) -> tuple[str, ...]:
        """Canonical grant types, for metadata ``grant_types_supported``."""
        return tuple(self._canonical)
