"""The resource servers this authorization server issues tokens for (RFC 8707), as one
view over two sources:

- the catalog's static audiences (``audience =`` in the catalog, ``@management``,
  ``@userinfo``): they exist from the start, offer the scopes that name them, and can
  only change with the catalog;
- the resources an operator registers (``scopegate resources add``, table ``resources``).

A running server reads the registered ones through :class:`ResourceDirectory`, which
keeps the whole (small) table in memory for ``ttl`` seconds: a resource added with the
CLI is seen within that time, without a restart, and the token endpoint never reads the
database per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ...scopes import Catalog, static_resources
from ...store.repositories.resources import ResourceRecord, ResourceRepository
from ..shared.snapshot import Snapshot
from ..shared.urls import http_url_problem

__all__ = ["MAX_IDENTIFIER_LENGTH", "Resource", "ResourceDirectory", "identifier_problem",
           "static_directory"]

MAX_IDENTIFIER_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource server: what a client sends as ``resource`` and a token's ``aud``.

    :param static: a catalog audience (exists from the start, cannot be removed).
    """

    identifier: str
    name: str
    scopes: frozenset[str]
    static: bool = False

    @classmethod
    def from_record(cls, record: ResourceRecord) -> Resource:
        """A registered resource."""
        return cls(record.identifier, record.name, record.scopes)


def identifier_problem(value: str) -> str | None:
    """Why ``value`` is not a resource identifier (RFC 8707 §2: an absolute URI without a
    fragment; here also an http(s) URL with a host, as a token ``aud`` must be), or None."""
    problem = http_url_problem(value, MAX_IDENTIFIER_LENGTH,
                               example=", e.g. https://api.example.com/mcp")
    if problem is not None:
        return problem
    parts = urlsplit(value)
    if "#" in value:
        return "must not have a fragment (RFC 8707 §2)"
    if parts.scheme + "://" + parts.netloc.lower() != value[:len(parts.scheme) + 3
                                                           + len(parts.netloc)]:
        return "must have its scheme and host in lower case, as clients send them"
    return None


def static_directory(catalog: Catalog, names: Mapping[str, str]) -> dict[str, Resource]:
    """The catalog's audiences as resources (``catalog`` with its symbols resolved).

    :param names: a name for people by identifier (the server's own APIs); any other
        audience is named after the catalog.
    """
    return {identifier: Resource(identifier, names.get(identifier, "catalog audience"),
                                 scopes, static=True)
            for identifier, scopes in static_resources(catalog).items()}


class ResourceDirectory:
    """Every resource the server knows: static first, then the registered ones (cached).

    :param repo: the registered resources.
    :param static: the catalog's audiences (:func:`static_directory`).
    :param ttl: seconds the registered table is reused before it is read again.
    """

    def __init__(self, repo: ResourceRepository, static: Mapping[str, Resource],
                 ttl: float) -> None:
        self.static = dict(static)
        self.snapshot: Snapshot[Mapping[str, Resource]] = Snapshot(
            lambda: {r.identifier: Resource.from_record(r) for r in repo.list()}, ttl, {})

    async def registered(self) -> Mapping[str, Resource]:
        """The registered resources, from memory while fresh, else read again."""
        return await self.snapshot.get()

    async def get(self, identifier: str) -> Resource | None:
        """The resource named ``identifier``, or None."""
        found = self.static.get(identifier)
        if found is not None:
            return found
        return (await self.registered()).get(identifier)

    async def identifiers(self) -> frozenset[str]:
        """Every resource identifier known now (token audiences introspection accepts)."""
        return frozenset(self.static) | frozenset(await self.registered())

    def invalidate(self) -> None:
        """Read the registered table again at the next lookup (after a change here)."""
        self.snapshot.invalidate()
