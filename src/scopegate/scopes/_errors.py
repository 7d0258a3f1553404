"""Errors raised by the scope model.

Exception tree::

    ScopeError
     ├── ScopeSyntaxError      a string breaks the RFC 6749 §3.3 scope grammar or size limits
     ├── UnknownScopeError     a name is neither a canonical scope nor an alias
     ├── NoScopeRequestedError a request names no scope and there is no default
     ├── ScopeNotAllowedError  a request asks for more than what is allowed
     │    └── BeyondRoleError  ... more than the user's role may hold
     └── CatalogError          a scopes.toml file is invalid (names the file and the scope)
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "BeyondRoleError",
    "CatalogError",
    "NoScopeRequestedError",
    "ScopeError",
    "ScopeNotAllowedError",
    "ScopeSyntaxError",
    "UnknownScopeError",
]


class ScopeError(ValueError):
    """Base class of every scope problem; its message is safe to show a user."""


class ScopeSyntaxError(ScopeError):
    """A scope string or token breaks the RFC 6749 §3.3 grammar or the size limits."""


class UnknownScopeError(ScopeError):
    """One or more names are not in the catalog."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: tuple[str, ...] = tuple(sorted(set(names)))
        super().__init__("unknown scope(s): " + ", ".join(self.names))


class ScopeNotAllowedError(ScopeError):
    """Requested scopes are not covered by what is allowed."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: tuple[str, ...] = tuple(sorted(set(names)))
        super().__init__("scope(s) not allowed: " + ", ".join(self.names))


class NoScopeRequestedError(ScopeError):
    """A request names no scope and there are no default scopes to fall back on."""

    def __init__(self) -> None:
        super().__init__("no scope requested and the client has no default scopes")


class BeyondRoleError(ScopeNotAllowedError):
    """Scopes exceed what a role may hold (catalog ``[roles]``)."""

    def __init__(self, role: str, names: Iterable[str]) -> None:
        super().__init__(names)
        self.role = role
        self.args = (f"scope(s) beyond your role ({role}): " + ", ".join(self.names),)


class CatalogError(ScopeError):
    """A catalog file is invalid."""

    def __init__(self, source: str, scope: str | None, problem: str) -> None:
        self.source = source
        self.scope = scope
        self.problem = problem
        where = f"{source}: scope {scope!r}: " if scope else f"{source}: "
        super().__init__(where + problem)
