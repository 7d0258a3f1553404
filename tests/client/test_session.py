"""Step-up through the session: one login, verified grant, same identity, save before evict."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import httpx
import pytest

from scopegate.client import LoginRequired, TokenSession, requires_scopes, use_session
from scopegate.client._cache import TokenCache
from scopegate.client._context import current_session
from scopegate.client._exceptions import IdentityChanged, ScopeNotGranted
from scopegate.client._login import login_flow
from scopegate.client._stores import FileTokenStore

from .conftest import FakeIssuer, FakeLoginProvider

DEFAULTS = {"openid", "profile", "email", "offline_access", "api"}


def logged_in(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache, interactive: bool = True
) -> tuple[TokenSession, FakeLoginProvider]:
    login = FakeLoginProvider(issuer)
    session = TokenSession(login, cache=cache, interactive=interactive, environment="prod")
    session.get_token(http=http)
    return session, login


def test_interactive_step_up_runs_one_login_for_the_union(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    session, login = logged_in(issuer, http, cache)
    token = session.get_token({"apps:write"}, http=http)
    assert login.logins == [frozenset(DEFAULTS), frozenset(DEFAULTS | {"apps:write"})]
    assert "apps:write" in token.scopes
    # The wider token replaced the narrower one: one session, not two.
    assert cache.tokens(token.issuer, token.client_id) == [token]


def test_declined_scope_raises_scope_not_granted_without_looping(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    session, login = logged_in(issuer, http, cache)
    issuer.declined = {"apps:write"}
    with pytest.raises(ScopeNotGranted) as info:
        session.get_token({"apps:write", "keys:read"}, http=http)
    assert info.value.missing == ("apps:write",)
    assert len(login.logins) == 2
    # The original session is intact.
    assert session.get_token(http=http).scopes == DEFAULTS


def test_changed_identity_aborts_and_keeps_the_old_session(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    session, login = logged_in(issuer, http, cache)
    login.login_subject = "someone-else"
    with pytest.raises(IdentityChanged, match=r"'someone-else'.*'user-1'"):
        session.get_token({"apps:write"}, http=http)
    assert session.get_token(http=http).subject == "user-1"


def test_failing_save_never_logs_the_user_out(
    issuer: FakeIssuer, http: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    session, _ = logged_in(issuer, http, TokenCache(store))
    before = (tmp_path / "tokens.json").read_bytes()

    def disk_full(doc: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_write", disk_full)
    token = session.get_token({"apps:write"}, http=http)  # the call itself still works
    assert "apps:write" in token.scopes
    assert (tmp_path / "tokens.json").read_bytes() == before
    # A fresh process still finds the old session on disk.
    monkeypatch.undo()
    fresh = TokenCache(FileTokenStore(tmp_path / "tokens.json"))
    fresh.reload()
    (old,) = fresh.tokens(token.issuer, token.client_id)
    assert old.scopes == DEFAULTS


def test_refused_login_save_is_an_error_for_explicit_login(
    issuer: FakeIssuer, http: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scopegate.client._exceptions import TokenStoreError
    from scopegate.client._flow import drive_sync
    from scopegate.client._locks import LockRegistry

    store = FileTokenStore(tmp_path / "tokens.json")
    session = TokenSession(FakeLoginProvider(issuer), cache=TokenCache(store), interactive=True)

    def disk_full(doc: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_write", disk_full)
    with pytest.raises(TokenStoreError):
        drive_sync(login_flow(session), http.send, LockRegistry())


def test_not_logged_in_and_not_interactive(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    session = TokenSession(
        FakeLoginProvider(issuer), cache=cache, interactive=False, environment="prod"
    )
    with pytest.raises(LoginRequired, match="run: scopegate login --env prod"):
        session.get_token(http=http)


def test_refresh_refused_falls_back_to_login(issuer: FakeIssuer, http: httpx.Client) -> None:
    now = [1000.0]
    cache = TokenCache(clock=lambda: now[0])
    login = FakeLoginProvider(issuer, clock=lambda: now[0])
    session = TokenSession(login, cache=cache, interactive=True)
    session.get_token(http=http)
    now[0] += 7200
    issuer.refresh_ok = False
    session.get_token(http=http)
    assert issuer.grants == ["authorization_code", "refresh_token", "authorization_code"]


def test_opaque_token_recorded_scopes_cover_without_step_up(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    issuer.opaque, issuer.echo_scope = True, False
    session, login = logged_in(issuer, http, cache)
    session.get_token({"api", "openid"}, http=http)
    assert len(login.logins) == 1


def test_scp_array_claims_are_read(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    issuer.claim, issuer.echo_scope = "scp_list", False
    session, login = logged_in(issuer, http, cache)
    assert session.get_token({"api"}, http=http).scopes == DEFAULTS
    assert len(login.logins) == 1


def test_requires_scopes_decorator_steps_up_before_the_command(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    session, login = logged_in(issuer, http, cache)
    session.get_token = _with_http(session, http)  # type: ignore[method-assign]

    @requires_scopes("keys:read")
    def list_keys(limit: int = 5) -> int:
        return limit

    use_session(session)
    try:
        assert list_keys(limit=3) == 3
    finally:
        use_session(None)
    assert list_keys.__scopegate_scopes__ == {"keys:read"}  # type: ignore[attr-defined]
    assert "keys:read" in login.logins[-1]


def _with_http(session: TokenSession, http: httpx.Client):  # type: ignore[no-untyped-def]
    original = session.get_token

    def get_token(required=(), **kwargs):  # type: ignore[no-untyped-def]
        return original(required, http=http)

    return get_token


def test_requires_scopes_on_an_async_function_awaits_the_step_up(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    session, login = logged_in(issuer, http, cache)
    transport = httpx.MockTransport(issuer)
    original = session.aget_token

    async def aget_token(required=(), **_):  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(transport=transport) as ahttp:
            return await original(required, http=ahttp)

    session.aget_token = aget_token  # type: ignore[method-assign]
    session.get_token = None  # type: ignore[assignment,method-assign]  # never blocks the loop

    @requires_scopes("keys:read")
    async def list_keys(limit: int = 5) -> int:
        await asyncio.sleep(0)
        return limit

    assert inspect.iscoroutinefunction(list_keys)  # frameworks still see an async def
    with use_session(session):
        assert asyncio.run(list_keys(limit=3)) == 3
    assert "keys:read" in login.logins[-1]
    assert list_keys.__scopegate_scopes__ == {"keys:read"}  # type: ignore[attr-defined]


def test_use_session_binds_for_a_with_block_and_restores_the_previous(
    issuer: FakeIssuer, http: httpx.Client, cache: TokenCache
) -> None:
    outer, _ = logged_in(issuer, http, cache)
    inner = TokenSession(FakeLoginProvider(issuer), cache=cache)
    use_session(outer)  # the old way: bound until changed
    try:
        with use_session(inner) as bound:
            assert bound is inner and current_session() is inner
        assert current_session() is outer
        with pytest.raises(RuntimeError), use_session(inner):
            raise RuntimeError("the block failed")
        assert current_session() is outer
    finally:
        use_session(None)
    with pytest.raises(LookupError):
        current_session()
