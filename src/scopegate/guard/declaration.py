"""Route declarations: the one attachment point that says what a route needs.

Adapters deny every route that carries no declaration, so forgetting auth is a 403 in
development instead of an open endpoint in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .config import RateLimit
from .context import GuardContext
from .user_auth import UserAuthRequirement, user_auth_requirement

__all__ = ["DECLARATION_ATTR", "Declaration", "RoutePipeline", "declaration_of", "public",
           "requires"]

DECLARATION_ATTR = "__scopegate__"
F = TypeVar("F")


class RoutePipeline(Protocol):
    """What a declaration runs a route through (a :class:`scopegate.guard.Pipeline`); a
    protocol so that the pipeline, which builds declarations, is not imported back."""

    async def run(self, ctx: GuardContext) -> None:
        """Run every step over ``ctx``."""
        ...


@dataclass(frozen=True, slots=True)
class Declaration:
    """What a route requires.

    :param scopes: the scopes as written (the guard canonicalizes them through the catalog).
    :param public: True only for routes that deliberately need no token.
    :param rate: a per-route budget replacing the global one (its own bucket).
    :param pipeline: a per-route pipeline replacing the guard's default one.
    :param user_auth: how recent or strong the sign-in must be (RFC 9470), or None.
    """

    scopes: tuple[str, ...] = ()
    public: bool = False
    rate: RateLimit | None = None
    pipeline: RoutePipeline | None = None
    user_auth: UserAuthRequirement | None = None


def requires(
    *scopes: str, rate: RateLimit | None = None, pipeline: RoutePipeline | None = None,
    max_age: int | None = None, acr_values: Iterable[str] | str = (),
) -> Callable[[F], F]:
    """Declare the scopes a route needs (at least one; use :func:`public` for none).

    :param max_age: the user must have signed in at most this many seconds ago (RFC 9470);
        an older sign-in gets 401 ``insufficient_user_authentication``.
    :param acr_values: the token's ``acr`` must be one of these.
    """
    if not scopes or not all(isinstance(s, str) and s for s in scopes):
        raise ValueError("requires() needs at least one scope name; use public() for none")
    declaration = Declaration(scopes=tuple(scopes), rate=rate, pipeline=pipeline,
                              user_auth=user_auth_requirement(max_age, acr_values))

    def mark(endpoint: F) -> F:
        setattr(endpoint, DECLARATION_ATTR, declaration)
        return endpoint

    return mark


def public(endpoint: F) -> F:
    """Mark a route (or mounted app) as deliberately open to anonymous callers."""
    setattr(endpoint, DECLARATION_ATTR, Declaration(public=True))
    return endpoint


def declaration_of(obj: Any) -> Declaration | None:
    """Return the declaration attached to an endpoint or app, if any."""
    found = getattr(obj, DECLARATION_ATTR, None)
    return found if isinstance(found, Declaration) else None
