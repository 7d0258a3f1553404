"""The scope catalog: canonical names, aliases, implication, audiences and roles.

The catalog is the only place that knows what a scope means. It is immutable once
built; every query is pure and cheap (implication closures are computed at load time).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from ._errors import (
    BeyondRoleError,
    CatalogError,
    NoScopeRequestedError,
    ScopeNotAllowedError,
    UnknownScopeError,
)
from ._grammar import parse_scope, validate_tokens

__all__ = ["Catalog", "ScopeDef"]


@dataclass(frozen=True, slots=True)
class ScopeDef:
    """One scope as declared in the catalog.

    :param name: the canonical name, e.g. ``"apps:read"`` or ``"scopegate:all"``.
    :param description: shown on consent pages and in the public catalog.
    :param aliases: other names accepted on input (legacy names first).
    :param public: whether clients and API keys may request it.
    :param implies: canonical names this scope covers (wildcards already resolved).
    :param audience: the resource (RFC 8707) a token carrying this scope is for.
    """

    name: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    public: bool = True
    implies: frozenset[str] = field(default_factory=frozenset)
    audience: str | None = None

    @property
    def legacy_name(self) -> str:
        """The name old clients know: the first alias, else the canonical name."""
        return self.aliases[0] if self.aliases else self.name


class Catalog:
    """A validated, immutable scope catalog. Build one with :func:`load_catalog`."""

    __slots__ = (
        "_by_name",
        "_closure",
        "_names",
        "_parse_cache",
        "default_scopes",
        "namespace",
        "roles",
        "source",
    )

    def __init__(
        self,
        *,
        namespace: str,
        scopes: Iterable[ScopeDef],
        closure: Mapping[str, frozenset[str]],
        default_scopes: Iterable[str],
        roles: Mapping[str, frozenset[str]],
        source: str = "<memory>",
    ) -> None:
        self.namespace = namespace
        self.source = source
        self._by_name: dict[str, ScopeDef] = {}
        self._names: dict[str, str] = {}
        for scope in scopes:
            self._by_name[scope.name] = scope
            self._names[scope.name] = scope.name
            for alias in scope.aliases:
                self._names[alias] = scope.name
        self._closure = dict(closure)
        self.default_scopes: frozenset[str] = frozenset(default_scopes)
        self.roles: Mapping[str, frozenset[str]] = dict(roles)
        self._parse_cache: dict[str, frozenset[str]] = {}

    # -- names -------------------------------------------------------------------------

    @property
    def all_scope(self) -> str:
        """The namespaced scope that covers everything, e.g. ``scopegate:all``."""
        return f"{self.namespace}:all"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._names

    def __iter__(self) -> Iterator[ScopeDef]:
        return iter(self._by_name.values())

    def get(self, name: str) -> ScopeDef:
        """Return the definition behind a canonical name or alias."""
        try:
            return self._by_name[self._names[name]]
        except KeyError:
            raise UnknownScopeError([name]) from None

    def canonical(self, name: str) -> str:
        """Return the canonical name for a name or alias."""
        try:
            return self._names[name]
        except KeyError:
            raise UnknownScopeError([name]) from None

    def canonicalize(self, names: Iterable[str]) -> frozenset[str]:
        """Map names and aliases to canonical names; every unknown name is reported at once."""
        out: set[str] = set()
        unknown: list[str] = []
        for name in names:
            canonical = self._names.get(name)
            if canonical is None:
                unknown.append(name)
            else:
                out.add(canonical)
        if unknown:
            raise UnknownScopeError(unknown)
        return frozenset(out)

    def canonicalize_keeping_unknown(self, names: Iterable[str]) -> frozenset[str]:
        """Map known names and aliases to canonical names; keep unknown names literally.

        For scopes that come from elsewhere (a token, a route declaration): a name this
        catalog does not know is never dropped and never matches by accident.
        """
        return frozenset(self._names.get(name, name) for name in names)

    def parse(self, value: str) -> frozenset[str]:
        """Parse an RFC 6749 scope string into canonical names (cached per string)."""
        cached = self._parse_cache.get(value)
        if cached is None:
            cached = self.canonicalize(parse_scope(value))
            if len(self._parse_cache) < 4096:
                self._parse_cache[value] = cached
        return cached

    def parse_list(self, values: Iterable[str]) -> frozenset[str]:
        """Validate a list of names (a JSON array or repeated flags) into canonical names."""
        return self.canonicalize(validate_tokens(values))

    def legacy_names(self, names: Iterable[str]) -> tuple[str, ...]:
        """Return each scope's legacy name (for responses that old clients read), sorted."""
        return tuple(sorted(self._by_name[n].legacy_name if n in self._by_name else n
                            for n in names))

    # -- implication -------------------------------------------------------------------

    def expand(self, names: Iterable[str]) -> frozenset[str]:
        """Return the names plus everything they imply (aliases resolved; unknown kept as-is).

        Unknown names are kept literally so that a token from a newer catalog never
        loses scopes this catalog does not know yet.
        """
        out: set[str] = set()
        for name in names:
            canonical = self._names.get(name, name)
            out.add(canonical)
            out |= self._closure.get(canonical, frozenset())
        return frozenset(out)

    def covers(self, granted: Iterable[str], required: Iterable[str]) -> bool:
        """Return whether the granted scopes, with implication, cover every required scope."""
        return not self.missing(granted, required)

    def missing(self, granted: Iterable[str], required: Iterable[str]) -> frozenset[str]:
        """Return the canonical required scopes that the granted scopes do not cover."""
        have = self.expand(granted)
        return frozenset(self._names.get(n, n) for n in required) - have

    def narrow(self, allowed: Iterable[str], requested: Iterable[str]) -> frozenset[str]:
        """Return the canonical requested scopes if ``allowed`` covers all of them.

        Never drops a scope silently: anything not covered raises
        :class:`ScopeNotAllowedError` naming it.
        """
        wanted = self.canonicalize(requested)
        not_covered = self.missing(allowed, wanted)
        if not_covered:
            raise ScopeNotAllowedError(not_covered)
        return wanted

    def requested(self, raw: str | None, defaults: Iterable[str],
                  allowed: Iterable[str]) -> frozenset[str]:
        """Answer an RFC 6749 §3.3 ``scope`` parameter: parse, default, then narrow.

        :param raw: the ``scope`` parameter, or None when the request has none.
        :param defaults: what an absent ``scope`` means (the client's default scopes).
        :param allowed: what the request may ask for (the client's allowed scopes).
        :raises ScopeError: malformed or unknown names, nothing requested
            (:class:`NoScopeRequestedError`) or more than allowed; the server answers
            ``invalid_scope``.
        """
        wanted = frozenset(defaults) if raw is None else self.parse(raw)
        if not wanted:
            raise NoScopeRequestedError()
        return self.narrow(allowed, wanted)

    def defaults_within(self, allowed: Iterable[str]) -> frozenset[str]:
        """What an absent ``scope`` should mean for a client allowed ``allowed``: the
        catalog's default scopes it may use, else everything it may use."""
        allowed = frozenset(allowed)
        return frozenset(s for s in self.default_scopes if self.covers(allowed, [s])) or allowed

    def cap(self, scopes: Iterable[str], role: str) -> frozenset[str]:
        """Return the canonical ``scopes`` if ``role`` (catalog ``[roles]``) covers them all.

        Scopes beyond the role are refused, never dropped.

        :raises BeyondRoleError: naming every scope the role may not hold.
        :raises UnknownScopeError: a name the catalog does not know.
        """
        wanted = self.canonicalize(scopes)
        beyond = self.missing(self.roles.get(role, frozenset()), wanted)
        if beyond:
            raise BeyondRoleError(role, beyond)
        return wanted

    def intersect(self, held: Iterable[str], allowed: Iterable[str]) -> frozenset[str]:
        """Return what both sets cover, through implication, without widening either.

        A held scope that ``allowed`` covers is kept; a held scope wider than
        ``allowed`` gives way to the allowed scopes it covers (so ``<ns>:all`` held
        under a role means everything the role may do, no more), skipping any that
        the kept scopes already cover.
        """
        held, allowed = frozenset(held), frozenset(allowed)
        kept = held - self.missing(allowed, held)
        dropped = held - kept
        if dropped:
            wider = allowed - self.missing(dropped, allowed)
            kept |= self.missing(kept, wider)
        return kept

    # -- audiences, visibility, roles --------------------------------------------------

    def audiences(self, names: Iterable[str]) -> tuple[str, ...]:
        """Return the sorted resources (token ``aud`` values) that the scopes target."""
        found = {
            scope.audience
            for n in names
            if (scope := self._by_name.get(self._names.get(n, n))) is not None and scope.audience
        }
        return tuple(sorted(found))

    def resolve_audiences(self, symbols: Mapping[str, str]) -> Catalog:
        """Return a copy whose symbolic audiences (``@name``) are replaced by ``symbols``.

        :raises CatalogError: a scope names a symbol ``symbols`` does not define.
        """
        scopes: list[ScopeDef] = []
        for scope in self._by_name.values():
            audience = scope.audience
            if audience is not None and audience.startswith("@"):
                if audience not in symbols:
                    known = ", ".join(sorted(symbols)) or "none"
                    raise CatalogError(self.source, scope.name,
                                       f"unknown audience {audience!r} (known: {known})")
                audience = symbols[audience]
            scopes.append(replace(scope, audience=audience))
        return Catalog(namespace=self.namespace, scopes=scopes, closure=self._closure,
                       default_scopes=self.default_scopes, roles=self.roles,
                       source=self.source)

    def all_audiences(self) -> frozenset[str]:
        """Every resource some scope in the catalog targets."""
        return frozenset(s.audience for s in self._by_name.values() if s.audience)

    def public(self) -> tuple[ScopeDef, ...]:
        """The public scopes, sorted by name (for metadata and the scope-catalog endpoint)."""
        return tuple(sorted((s for s in self._by_name.values() if s.public),
                            key=lambda s: s.name))

    def non_public(self, names: Iterable[str]) -> frozenset[str]:
        """Return those of the (canonical or alias) names that are internal."""
        return frozenset(n for n in self.canonicalize(names) if not self._by_name[n].public)

    def role_scopes(self, role: str) -> frozenset[str]:
        """Return the scopes a role may hold (empty for an unknown role)."""
        return self.roles.get(role, frozenset())

    def role_relative(self, names: Iterable[str]) -> frozenset[str]:
        """Those of the canonical names that mean "everything the holder may do".

        ``<ns>:all`` on a credential is judged against the holder's role each time it is
        used (:meth:`intersect`), so any role may hold it: it never grants beyond the role.
        """
        return frozenset(names) & {self.all_scope}

    def stored_key_scopes(self, stored: Iterable[str]) -> frozenset[str]:
        """Interpret scopes stored on a credential: an empty list predates scopes and means all."""
        names = frozenset(stored)
        return names if names else frozenset({self.all_scope})
