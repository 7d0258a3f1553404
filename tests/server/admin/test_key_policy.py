"""Key scope and lifetime rules: canonical in, public only, never beyond the role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scopegate.errors import InvalidRequest, InvalidScope
from scopegate.scopes import default_catalog
from scopegate.server.admin.key_policy import (
    capped_by_roles,
    effective_key_scopes,
    expiry,
    parse_duration,
    requested_key_scopes,
    scope_fields,
)

CATALOG = default_catalog()
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_several_scopes_and_aliases_become_canonical() -> None:
    got = requested_key_scopes(CATALOG, scopes=["apps:read", "application_connect"])
    assert got == {"apps:read", "scopegate:application_connect"}


def test_legacy_singular_scope_is_accepted() -> None:
    assert requested_key_scopes(CATALOG, scope="all") == {"scopegate:all"}
    assert requested_key_scopes(CATALOG, scope="apps:read workspace:read") == {
        "apps:read", "workspace:read"}


def test_no_scope_at_all_keeps_the_pre_scopes_meaning() -> None:
    assert requested_key_scopes(CATALOG) == {"scopegate:all"}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"scopes": []}, InvalidRequest),
        ({"scope": "  "}, InvalidRequest),
        ({"scopes": ["all"], "scope": "all"}, InvalidRequest),
        ({"scopes": ["admin:clients"]}, InvalidScope),
        ({"scopes": ["nope:nothing"]}, InvalidScope),
        ({"scopes": ['bad"quote']}, InvalidScope),
    ],
)
def test_bad_requests_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        requested_key_scopes(CATALOG, **kwargs)  # type: ignore[arg-type]


def test_internal_scope_is_named_in_the_error() -> None:
    with pytest.raises(InvalidScope, match="admin:users"):
        requested_key_scopes(CATALOG, scopes=["apps:read", "admin:users"])


def test_role_caps_the_request() -> None:
    capped_by_roles(CATALOG, {"apps:run", "workspace:read"}, ["member"])
    capped_by_roles(CATALOG, {"keys:write"}, ["member"])  # members manage their own keys
    capped_by_roles(CATALOG, {"scopegate:all"}, ["admin"])
    with pytest.raises(InvalidScope, match=r"beyond your role \(member\): apps:write"):
        capped_by_roles(CATALOG, {"apps:read", "apps:write"}, ["member"])
    # Seed 004: "all" means what the role allows, judged at use, so every role may hold it.
    capped_by_roles(CATALOG, {"scopegate:all"}, ["member"])
    capped_by_roles(CATALOG, {"scopegate:all", "apps:read"}, ["viewer"])
    with pytest.raises(InvalidScope, match=r"beyond your role \(viewer\): apps:run$"):
        capped_by_roles(CATALOG, {"scopegate:all", "apps:run"}, ["viewer"])


def test_effective_scopes_follow_the_role_held_now() -> None:
    # A pre-scopes key (empty list) of a member means what a member may do, no more.
    member_all = effective_key_scopes(CATALOG, [], ["member"])
    assert member_all == CATALOG.role_scopes("member")
    assert effective_key_scopes(CATALOG, [], ["admin"]) >= {"scopegate:all"}
    # A demoted owner's key loses what the new role does not cover.
    assert effective_key_scopes(CATALOG, ["apps:run", "apps:read"], ["viewer"]) == {"apps:read"}
    assert effective_key_scopes(CATALOG, ["apps:read"], ["admin", "viewer"]) == {"apps:read"}
    assert effective_key_scopes(CATALOG, ["apps:read"], ["nobody"]) == frozenset()


def test_responses_carry_canonical_list_and_legacy_string() -> None:
    assert scope_fields(CATALOG, ["scopegate:all"]) == {"scopes": ["scopegate:all"],
                                                        "scope": "all"}
    assert scope_fields(CATALOG, []) == {"scopes": ["scopegate:all"], "scope": "all"}
    fields = scope_fields(CATALOG, ["scopegate:application_connect", "apps:read"])
    assert fields == {"scopes": ["apps:read", "scopegate:application_connect"],
                      "scope": "application_connect apps:read"}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(3600, 3600), ("3600", 3600), ("30d", 30 * 86400), ("1h", 3600), ("15m", 900),
     ("2w", 14 * 86400), ("0", 0)],
)
def test_durations(value: int | str, seconds: int) -> None:
    assert parse_duration(value) == timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["", "1y", "-5", "d", "1.5h", True, "9" * 20])
def test_bad_durations(value: object) -> None:
    with pytest.raises(InvalidRequest):
        parse_duration(value)  # type: ignore[arg-type]


def test_expiry_rules() -> None:
    assert expiry(NOW) == NOW + timedelta(days=90)
    assert expiry(NOW, expires_in="30d") == NOW + timedelta(days=30)
    at = NOW + timedelta(days=2)
    assert expiry(NOW, expires_at=at) == at
    for bad in ({"expires_in": "30d", "expires_at": at}, {"expires_in": 10},
                {"expires_in": "400d"}, {"expires_at": NOW - timedelta(days=1)},
                {"expires_at": datetime(2030, 1, 1)}):
        with pytest.raises(InvalidRequest):
            expiry(NOW, **bad)  # type: ignore[arg-type]
