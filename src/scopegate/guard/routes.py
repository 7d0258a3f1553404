"""Route inventory: every route of a Starlette, FastAPI or Flask app with its declaration.

Used by the deny-by-default adapters and by ``scopegate routes check``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .declaration import Declaration, declaration_of
from .user_auth import UserAuthRequirement

__all__ = ["RouteEntry", "framework_public_paths", "list_routes", "route_declaration"]

_FASTAPI_DOC_ATTRS = ("openapi_url", "docs_url", "redoc_url", "swagger_ui_oauth2_redirect_url")


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """One route: its path, methods, name and declaration (None when undeclared)."""

    path: str
    methods: tuple[str, ...]
    name: str
    declaration: Declaration | None


def _dependency_declarations(dependant: Any) -> Iterable[Declaration]:
    """Declarations carried by FastAPI dependencies (``RequireScopes``), depth first."""
    stack = list(getattr(dependant, "dependencies", ()))
    while stack:
        dep = stack.pop()
        found = declaration_of(getattr(dep, "call", None))
        if found is not None:
            yield found
        stack.extend(getattr(dep, "dependencies", ()))


def _merge(declarations: list[Declaration]) -> Declaration | None:
    if not declarations:
        return None
    with_scopes = [d for d in declarations if not d.public]
    if not with_scopes:
        return declarations[0]
    scopes: list[str] = []
    for d in with_scopes:
        scopes.extend(s for s in d.scopes if s not in scopes)
    first = with_scopes[0]
    return Declaration(
        scopes=tuple(scopes),
        rate=next((d.rate for d in with_scopes if d.rate), None),
        pipeline=next((d.pipeline for d in with_scopes if d.pipeline), first.pipeline),
        user_auth=_user_auth(with_scopes),
    )


def _user_auth(declarations: list[Declaration]) -> UserAuthRequirement | None:
    found: UserAuthRequirement | None = None
    for d in declarations:
        if d.user_auth is not None:
            found = d.user_auth.merged(found)
    return found


def route_declaration(route: Any) -> Declaration | None:
    """The declaration of one Starlette/FastAPI route: its endpoint's plus its dependencies'."""
    found: list[Declaration] = []
    own = declaration_of(route) or declaration_of(getattr(route, "endpoint", None))
    if own is not None:
        found.append(own)
    found.extend(_dependency_declarations(getattr(route, "dependant", None)))
    return _merge(found)


def _starlette_routes(routes: Iterable[Any], prefix: str) -> Iterable[RouteEntry]:
    for route in routes:
        path = prefix + getattr(route, "path", "")
        inner = getattr(route, "routes", None)
        if inner is not None and hasattr(route, "app") and not hasattr(route, "endpoint"):
            own = declaration_of(route) or declaration_of(route.app)
            if own is not None or not inner:
                yield RouteEntry(path + "/*", ("*",), getattr(route, "name", "") or "", own)
            else:
                yield from _starlette_routes(inner, path)
            continue
        methods = getattr(route, "methods", None)
        if methods is None:  # websocket routes: not HTTP, not guarded here
            continue
        yield RouteEntry(path, tuple(sorted(methods)), getattr(route, "name", "") or "",
                         route_declaration(route))


def _flask_routes(app: Any) -> Iterable[RouteEntry]:
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        declaration = declaration_of(view)
        if declaration is None and rule.endpoint == "static":
            declaration = Declaration(public=True)
        methods = tuple(sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"}))
        yield RouteEntry(rule.rule, methods, rule.endpoint, declaration)


def framework_public_paths(app: Any) -> frozenset[str]:
    """Paths the framework itself serves and documents as public (FastAPI's docs pages)."""
    paths = (getattr(app, attr, None) for attr in _FASTAPI_DOC_ATTRS)
    return frozenset(p for p in paths if isinstance(p, str) and p)


def list_routes(app: Any) -> list[RouteEntry]:
    """Every HTTP route of a Starlette/FastAPI or Flask application."""
    if hasattr(app, "url_map") and hasattr(app, "view_functions"):
        return list(_flask_routes(app))
    routes = getattr(app, "routes", None)
    if routes is None:
        raise TypeError(f"{type(app).__name__} is neither a Starlette/FastAPI nor a Flask app")
    docs = framework_public_paths(app)
    return [
        RouteEntry(e.path, e.methods, e.name, Declaration(public=True))
        if e.declaration is None and e.path in docs else e
        for e in _starlette_routes(routes, "")
    ]
