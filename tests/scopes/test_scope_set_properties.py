"""Property tests of the catalog's answers and ``ScopeSet`` on the bundled catalog."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scopegate.scopes import (
    BeyondRoleError,
    NoScopeRequestedError,
    ScopeError,
    ScopeNotAllowedError,
    ScopeSet,
    ScopeSyntaxError,
    canonical_names,
    covers,
    default_catalog,
    missing,
)

CATALOG = default_catalog()
NAMES = sorted({n for s in CATALOG for n in (s.name, *s.aliases)})
ROLES = sorted(CATALOG.roles)
names = st.sampled_from(NAMES)
name_sets = st.frozensets(names, max_size=8)
roles = st.sampled_from([*ROLES, "nobody"])
tokens = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                        exclude_characters='"\\'), min_size=1, max_size=20)
unknown = tokens.filter(lambda t: t not in CATALOG)


# -- ScopeSet ------------------------------------------------------------------------------

@given(st.lists(tokens, max_size=10))
def test_a_scope_set_iterates_sorted_and_prints_the_rfc6749_string(values: list[str]) -> None:
    scopes = ScopeSet(values)
    assert list(scopes) == sorted(set(values))
    assert str(scopes) == " ".join(sorted(set(values)))
    assert scopes == frozenset(values)


@given(st.lists(tokens, max_size=10))
def test_a_scope_set_round_trips_through_its_string_and_its_list(values: list[str]) -> None:
    scopes = ScopeSet(values)
    assert ScopeSet.parse(str(scopes)) == scopes
    assert ScopeSet.parse(scopes.to_list()) == scopes
    assert scopes.to_list() == sorted(scopes)


@given(st.lists(tokens, max_size=10), st.lists(tokens, max_size=10))
def test_equal_sets_write_the_same_form(a: list[str], b: list[str]) -> None:
    assert (str(ScopeSet(a)) == str(ScopeSet(b))) == (set(a) == set(b))


def test_a_scope_set_is_immutable_and_hashable() -> None:
    scopes = ScopeSet(["b", "a"])
    with pytest.raises(AttributeError):
        scopes.add("c")  # type: ignore[attr-defined]
    assert {scopes: 1}[frozenset({"a", "b"})] == 1
    assert repr(scopes) == "ScopeSet('a b')"


@pytest.mark.parametrize("value", ['a "b"', "a\tb", ["ok", 3], ["sp ace"], b"api", 42])
def test_parsing_refuses_what_the_grammar_refuses(value: object) -> None:
    with pytest.raises(ScopeSyntaxError):
        ScopeSet.parse(value)  # type: ignore[arg-type]


# -- requested(raw, defaults, allowed) -----------------------------------------------------

@given(name_sets, name_sets)
def test_an_absent_scope_parameter_means_the_defaults(defaults: frozenset[str],
                                                      allowed: frozenset[str]) -> None:
    if not defaults:
        with pytest.raises(NoScopeRequestedError):
            CATALOG.requested(None, defaults, allowed)
    elif CATALOG.covers(allowed, defaults):
        assert CATALOG.requested(None, defaults, allowed) == CATALOG.canonicalize(defaults)
    else:
        with pytest.raises(ScopeNotAllowedError):
            CATALOG.requested(None, defaults, allowed)


@given(name_sets, name_sets, name_sets)
def test_a_requested_scope_is_granted_exactly_or_refused(
        wanted: frozenset[str], defaults: frozenset[str], allowed: frozenset[str]) -> None:
    raw = " ".join(sorted(wanted))
    try:
        granted = CATALOG.requested(raw, defaults, allowed)
    except ScopeError:
        assert not wanted or not CATALOG.covers(allowed, wanted)
    else:  # never widened, never silently narrowed, always canonical
        assert granted == CATALOG.canonicalize(wanted)
        assert CATALOG.covers(allowed, granted)


@given(name_sets, unknown)
def test_an_unknown_requested_name_is_refused(allowed: frozenset[str], name: str) -> None:
    with pytest.raises(ScopeError):
        CATALOG.requested(name, allowed, allowed | {CATALOG.all_scope})


def test_an_empty_scope_parameter_is_refused_even_with_defaults() -> None:
    with pytest.raises(NoScopeRequestedError, match="no scope requested"):
        CATALOG.requested("", {"api"}, {"api"})


# -- cap(scopes, role) ---------------------------------------------------------------------

@given(name_sets, roles)
def test_a_role_cap_refuses_rather_than_drops(scopes: frozenset[str], role: str) -> None:
    try:
        capped = CATALOG.cap(scopes, role)
    except BeyondRoleError as exc:
        assert exc.role == role and exc.names
        assert set(exc.names) == CATALOG.missing(CATALOG.role_scopes(role), scopes)
        assert f"beyond your role ({role})" in str(exc)
    else:
        assert capped == CATALOG.canonicalize(scopes)
        assert CATALOG.covers(CATALOG.role_scopes(role), capped)


@given(roles)
def test_a_role_holds_its_own_scopes(role: str) -> None:
    assert CATALOG.cap(CATALOG.role_scopes(role), role) == CATALOG.role_scopes(role)


# -- intersect(held, allowed) --------------------------------------------------------------

@given(name_sets, name_sets)
def test_an_intersection_never_widens_either_side(a: frozenset[str], b: frozenset[str]) -> None:
    both = CATALOG.intersect(CATALOG.canonicalize(a), CATALOG.canonicalize(b))
    assert CATALOG.covers(a, both)
    assert CATALOG.covers(b, both)


@given(name_sets, name_sets)
def test_an_intersection_keeps_what_each_side_grants_the_other(
        a: frozenset[str], b: frozenset[str]) -> None:
    a, b = CATALOG.canonicalize(a), CATALOG.canonicalize(b)
    both = CATALOG.intersect(a, b)
    assert CATALOG.covers(both, {x for x in a if CATALOG.covers(b, [x])})
    assert CATALOG.covers(both, {y for y in b if CATALOG.covers(a, [y])})


@given(name_sets)
def test_intersecting_with_itself_or_everything(a: frozenset[str]) -> None:
    a = CATALOG.canonicalize(a)
    assert CATALOG.intersect(a, a) == a
    public = frozenset(n for n in a if CATALOG.get(n).public)
    assert CATALOG.expand(CATALOG.intersect(public, {CATALOG.all_scope})) \
        == CATALOG.expand(public)


# -- canonical names, keeping the unknown --------------------------------------------------

@given(name_sets, st.frozensets(unknown, max_size=3))
def test_canonical_names_keep_unknown_names(known: frozenset[str],
                                            strange: frozenset[str]) -> None:
    found = CATALOG.canonicalize_keeping_unknown(known | strange)
    assert found == CATALOG.canonicalize(known) | strange
    assert canonical_names(known | strange, CATALOG) == found
    assert canonical_names(known | strange) == known | strange  # no catalog: literal


# -- the SDK's comparisons, with and without the issuer's catalog --------------------------

@given(name_sets, name_sets)
def test_covers_with_a_catalog_agrees_with_the_catalog(a: frozenset[str],
                                                       b: frozenset[str]) -> None:
    assert covers(a, b, CATALOG) == CATALOG.covers(a, b)
    assert missing(a, b, CATALOG) == CATALOG.missing(a, b)


@given(st.frozensets(tokens, max_size=6), st.frozensets(tokens, max_size=6))
def test_without_a_catalog_names_compare_literally(a: frozenset[str],
                                                   b: frozenset[str]) -> None:
    assert covers(a, b) == (b <= a)
    assert missing(a, b) == b - a


@given(name_sets, name_sets)
def test_a_literal_cover_is_a_cover_under_the_catalog(a: frozenset[str],
                                                      b: frozenset[str]) -> None:
    if covers(a, b):
        assert covers(a, b, CATALOG)


# -- defaults_within(allowed) --------------------------------------------------------------

@given(name_sets)
def test_a_clients_defaults_are_the_catalog_defaults_it_may_use(allowed: frozenset[str]) -> None:
    allowed = CATALOG.canonicalize(allowed)
    defaults = CATALOG.defaults_within(allowed)
    assert CATALOG.covers(allowed, defaults)
    usable = {s for s in CATALOG.default_scopes if CATALOG.covers(allowed, [s])}
    assert defaults == (usable or allowed)
    if defaults:  # so a request without `scope` succeeds
        assert CATALOG.requested(None, defaults, allowed) == defaults
