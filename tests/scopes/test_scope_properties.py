"""Property tests of the scope model on the bundled catalog (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scopegate.scopes import default_catalog, format_scope, parse_scope

CATALOG = default_catalog()
NAMES = sorted({n for s in CATALOG for n in (s.name, *s.aliases)})  # type: ignore[attr-defined]
names = st.sampled_from(NAMES)
name_sets = st.frozensets(names, max_size=8)
tokens = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                        exclude_characters='"\\'), min_size=1, max_size=20)


@given(name_sets)
def test_canonicalising_is_idempotent(scopes: frozenset[str]) -> None:
    once = CATALOG.canonicalize(scopes)
    assert CATALOG.canonicalize(once) == once


@given(name_sets)
def test_covers_is_reflexive(scopes: frozenset[str]) -> None:
    assert CATALOG.covers(scopes, scopes)


@given(name_sets, name_sets, name_sets)
def test_covers_is_transitive(a: frozenset[str], b: frozenset[str], c: frozenset[str]) -> None:
    if CATALOG.covers(a, b) and CATALOG.covers(b, c):
        assert CATALOG.covers(a, c)


@given(name_sets, name_sets)
def test_expansion_is_monotone(a: frozenset[str], b: frozenset[str]) -> None:
    assert CATALOG.expand(a) <= CATALOG.expand(a | b)


@given(st.lists(tokens, max_size=10))
def test_format_then_parse_round_trips(values: list[str]) -> None:
    assert set(parse_scope(format_scope(values))) == set(values)


@given(name_sets)
def test_everything_is_covered_by_the_all_scope(scopes: frozenset[str]) -> None:
    public = {n for n in CATALOG.canonicalize(scopes) if CATALOG.get(n).public}
    assert CATALOG.covers([CATALOG.all_scope], public)
