"""ScopeCheck: 403 insufficient_scope naming every required scope; implication and aliases."""

from __future__ import annotations

import pytest

from scopegate.errors import InsufficientScope
from scopegate.guard import GuardContext, RequestInfo, ScopeCheck
from scopegate.scopes import default_catalog

from .conftest import MakeGuard

pytestmark = pytest.mark.anyio
CATALOG = default_catalog()


def ctx_with(granted: set[str], required: set[str]) -> GuardContext:
    from scopegate.guard import AuthContext, TokenKind

    ctx = GuardContext(RequestInfo("GET", "/x", "/x"), "t", frozenset(required))
    ctx.auth = AuthContext("h", TokenKind.JWT, {}, "u", "c", "user",
                           CATALOG.expand(granted), True, 0.0, 0.0)
    return ctx


async def test_missing_scope_names_all_required_scopes() -> None:
    step = ScopeCheck(CATALOG, realm="api")
    with pytest.raises(InsufficientScope) as caught:
        await step(ctx_with({"apps:read"}, {"apps:read", "apps:run"}))
    error = caught.value
    assert error.status_code == 403
    challenge = error.response_headers()["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="insufficient_scope"')
    assert 'scope="apps:read apps:run"' in challenge  # every required one, for step-up
    assert error.body()["scope"] == "apps:read apps:run"


@pytest.mark.parametrize("granted", [{"apps:run"}, {"scopegate:all"}, {"all"},
                                     {"application_connect"}])
async def test_implied_scopes_cover_reads(granted: set[str]) -> None:
    await ScopeCheck(CATALOG)(ctx_with(granted, {"apps:read"}))


async def test_read_scope_does_not_cover_run() -> None:
    with pytest.raises(InsufficientScope):
        await ScopeCheck(CATALOG)(ctx_with({"apps:read"}, {"apps:run"}))


async def test_guard_canonicalizes_declared_aliases(make_guard: MakeGuard) -> None:
    guard = make_guard()
    assert guard.canonical(("all", "apps:read")) == {"scopegate:all", "apps:read"}
    assert guard.canonical(("nope:unknown",)) == {"nope:unknown"}  # never matches, never crashes
