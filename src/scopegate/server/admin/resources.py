"""Resource servers: register one, list them, remove one.

A resource server is an RFC 8707 resource identifier (the URL a client sends as
``resource``; a token for it carries it as ``aud``), a name, and the catalog scopes it
offers. The catalog's audiences (``audience =`` in the catalog, ``@management``,
``@userinfo``) are resources that exist from the start: listed, never stored, never
removed. Who may introspect for a resource is a client registered with
``--resource-server`` (RFC 7662 §4); the listing shows them.

Check the input with :func:`resource_spec` before opening the store; running servers
see a change within their resource cache TTL (``client_cache_ttl``, 5 s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...events import changed
from ...scopes import Catalog, ScopeError
from ...store import Database
from ...store.repositories import ClientRepository
from ...store.repositories.resources import DuplicateResource, ResourceRepository
from ..config.settings import Settings
from ..oauth2.resources import Resource, identifier_problem, static_directory
from ..state import own_resource_names
from .client_spec import MAX_NAME_LENGTH, checked_label
from .errors import Conflict, Invalid, NotFound, quoted
from .notify import notify

__all__ = ["ResourceSpec", "ResourceView", "add_resource", "catalog_resources",
           "list_resources", "remove_resource", "resource_spec"]


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """A resource ready to store: a checked identifier, a name, canonical scopes."""

    identifier: str
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class ResourceView:
    """One resource as listed: static (from the catalog) or registered, and who may
    introspect for it."""

    resource: Resource
    introspected_by: tuple[str, ...] = ()
    created_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {"resource": self.resource.identifier, "name": self.resource.name,
                "scopes": sorted(self.resource.scopes), "static": self.resource.static,
                "introspected_by": list(self.introspected_by),
                "created_at": self.created_at.isoformat() if self.created_at else None}


def catalog_resources(catalog: Catalog, settings: Settings) -> dict[str, Resource]:
    """The resources that exist from the start: the catalog's audiences, with
    ``@management`` and ``@userinfo`` resolved for this server.

    :raises Invalid: the catalog names an audience symbol the server does not define.
    """
    try:
        resolved = catalog.resolve_audiences(settings.audience_symbols)
    except ScopeError as exc:
        raise Invalid(str(exc)) from None
    return static_directory(resolved, own_resource_names(settings))


def resource_spec(catalog: Catalog, *, identifier: str, scopes: Sequence[str],
                  name: str | None = None) -> ResourceSpec:
    """Check a new resource without the store.

    :raises Invalid: a bad identifier, no scope, an unknown or malformed scope, a bad name.
    """
    problem = identifier_problem(identifier)
    if problem is not None:
        raise Invalid(f"resource {quoted(identifier)} {problem}")
    if not scopes:
        raise Invalid("give at least one --scope: the scopes this resource offers")
    try:
        offered = catalog.parse_list(scopes)
    except ScopeError as exc:
        raise Invalid(str(exc)) from None
    label = checked_label(name if name is not None else identifier[:MAX_NAME_LENGTH],
                          "--name", MAX_NAME_LENGTH)
    return ResourceSpec(identifier, label, offered)


def add_resource(db: Database, spec: ResourceSpec, static: Mapping[str, Resource]) -> Resource:
    """Store a new resource in one insert.

    :raises Conflict: it is a catalog audience, or registered already.
    """
    if spec.identifier in static:
        raise Conflict(f"resource {quoted(spec.identifier)} is an audience of the scope "
                       "catalog: it exists already (change the catalog to change it)")
    try:
        record = ResourceRepository(db).create(identifier=spec.identifier, name=spec.name,
                                               scopes=spec.scopes)
    except DuplicateResource:
        raise Conflict(f"resource {quoted(spec.identifier)} is registered already") from None
    notify(db, changed("resources"))
    return Resource.from_record(record)


def list_resources(db: Database, static: Mapping[str, Resource]) -> list[ResourceView]:
    """The catalog's audiences, then the registered resources, each by identifier."""
    served: dict[str, list[str]] = {}
    for client in ClientRepository(db).list():
        for identifier in client.resource_servers:
            served.setdefault(identifier, []).append(client.client_id)
    views = [ResourceView(r, tuple(served.get(i, ()))) for i, r in sorted(static.items())]
    views += [ResourceView(Resource.from_record(r), tuple(served.get(r.identifier, ())),
                           r.created_at) for r in ResourceRepository(db).list()]
    return views


def remove_resource(db: Database, identifier: str, static: Mapping[str, Resource]) -> None:
    """Remove a registered resource: new tokens for it are refused, and introspection
    calls its tokens inactive, on every replica within a second (a "changed" notice).

    :raises Invalid: it is a catalog audience.
    :raises NotFound: no such resource.
    """
    if identifier in static:
        raise Invalid(f"resource {quoted(identifier)} comes from the scope catalog and "
                      "cannot be removed (change the catalog instead)")
    if not ResourceRepository(db).delete(identifier):
        raise NotFound(f"no resource {quoted(identifier)} (see `scopegate resources list`)")
    notify(db, changed("resources"))
