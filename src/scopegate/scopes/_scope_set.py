"""``ScopeSet``: an immutable set of scope names with one written form.

It is a ``frozenset`` (so it mixes freely with the catalog's answers), but it iterates
in sorted order and ``str()`` gives the RFC 6749 §3.3 space-delimited string, so every
place that stores or prints scopes writes the same thing for the same set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ._errors import ScopeSyntaxError
from ._grammar import parse_scope, validate_tokens

__all__ = ["ScopeSet", "format_scope"]


class ScopeSet(frozenset[str]):
    """Scope names, de-duplicated, empty names dropped, iterated in sorted order.

    :param names: any iterable of names; use :meth:`parse` for untrusted input.
    """

    __slots__ = ()

    def __new__(cls, names: Iterable[str] = ()) -> ScopeSet:
        found = super().__new__(cls, names)
        # Built whole first (cheap, in C), filtered only when an empty name is there.
        return found if "" not in found else super().__new__(cls, found - {""})

    @classmethod
    def parse(cls, value: str | Iterable[str]) -> ScopeSet:
        """Read a space-delimited scope string or a JSON list of names, checking the grammar.

        :raises ScopeSyntaxError: a malformed name, a non-string item, or too many scopes.
        """
        if isinstance(value, str):
            return cls(parse_scope(value))
        if isinstance(value, (bytes, bytearray)) or not isinstance(value, Iterable):
            raise ScopeSyntaxError("scopes must be a string or a list of strings")
        items: list[Any] = list(value)
        return cls(validate_tokens(items))

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(frozenset.__iter__(self)))

    def __str__(self) -> str:
        return " ".join(sorted(frozenset.__iter__(self)))

    def __repr__(self) -> str:
        return f"ScopeSet({str(self)!r})"

    def to_list(self) -> list[str]:
        """The JSON form: a sorted list of names."""
        return list(self)


def format_scope(scopes: Iterable[str]) -> str:
    """Join scopes into one RFC 6749 string, sorted so equal sets format equally."""
    return str(ScopeSet(scopes))
