"""The issuer's scope catalog in the client: aliases and implication decide coverage.

Over MockTransport: an issuer that advertises ``scope_catalog_endpoint`` (its catalog is
used for the cache lookup, step-up, the grant check and challenges), one that does not
(names compare literally, as before), and one whose catalog cannot be fetched (literal
again, and the call still succeeds).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from scopegate.client import (
    ClientCredentialsProvider,
    ScopegateAuth,
    ScopeStepUpRequired,
    Token,
    TokenSession,
    required_scopes_extension,
)
from scopegate.client._cache import TokenCache
from scopegate.client._challenges import insufficient_scope
from scopegate.client._discovery import SCOPE_CATALOG_METADATA
from scopegate.client._exceptions import ScopeNotGranted
from scopegate.client._flow import drive_sync
from scopegate.client._locks import LockRegistry
from scopegate.client._login import login_flow
from scopegate.client._step_up import Covered, MissingNonInteractive, plan_step_up, verify_granted
from scopegate.client._stores import FileTokenStore
from scopegate.scopes import default_catalog, format_scope, public_listing

from .conftest import API, ISSUER, FakeIssuer, FakeLoginProvider

CATALOG_URL = ISSUER + "/api/v1/scopes"
CATALOG = default_catalog()
EVERYTHING = {s.name for s in CATALOG.public()}


@dataclass
class ScopegateLikeIssuer:
    """FakeIssuer behind the wire habits of a scopegate server.

    It canonicalizes requested names (``all`` is issued as ``scopegate:all``), publishes
    its public catalog when ``advertise`` is set, and answers the catalog request with
    ``catalog_answer`` (a response, or an exception to raise as a transport error).
    """

    fake: FakeIssuer
    advertise: bool = True
    catalog_answer: Callable[[], httpx.Response] | None = None
    paths: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if path == "/.well-known/oauth-authorization-server":
            doc = self.fake(request).json()
            if self.advertise:
                doc[SCOPE_CATALOG_METADATA] = CATALOG_URL
            return httpx.Response(200, json=doc)
        if path == "/api/v1/scopes":
            if self.catalog_answer is not None:
                return self.catalog_answer()
            return httpx.Response(200, json=public_listing(CATALOG))
        if path == "/oauth/token":
            form = dict(urllib.parse.parse_qsl(request.content.decode()))
            if "scope" in form:  # the server stores and issues canonical names
                form["scope"] = format_scope(CATALOG.parse(form["scope"]))
            request = httpx.Request("POST", request.url, headers=request.headers,
                                    content=urllib.parse.urlencode(form).encode())
        if path == "/legacy":  # an older API whose challenge names the legacy alias
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if "scopegate:all" not in self.fake.issued.get(token, set()):
                return httpx.Response(403, headers={
                    "WWW-Authenticate": 'Bearer error="insufficient_scope", scope="all"'})
            return httpx.Response(200, json={"ok": True})
        return self.fake(request)

    def count(self, path: str) -> int:
        return sum(1 for p in self.paths if p.endswith(" " + path))


@pytest.fixture
def server(issuer: FakeIssuer) -> ScopegateLikeIssuer:
    issuer.allowed |= EVERYTHING
    return ScopegateLikeIssuer(issuer)


def cc_session(cache: TokenCache, scopes: tuple[str, ...] = ("api",),
               **kwargs: object) -> TokenSession:
    provider = ClientCredentialsProvider(ISSUER, "svc", "secret", scopes=scopes)
    return TokenSession(provider, cache=cache, **kwargs)  # type: ignore[arg-type]


def http_for(server: ScopegateLikeIssuer) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(server))


# -- the issuer advertises its catalog ------------------------------------------------


def test_legacy_alias_is_satisfied_by_the_canonical_grant(
    server: ScopegateLikeIssuer, cache: TokenCache
) -> None:
    session = cc_session(cache, required_scopes=["all"])
    with http_for(server) as http:
        token = session.get_token(http=http)
        assert "scopegate:all" in token.scopes and "all" not in token.scopes
        # The same requirement, and what `all` implies, are now cache hits.
        assert session.get_token(["all"], http=http) is token
        assert session.get_token(["apps:write"], http=http) is token
    assert server.fake.token_hits == 1
    assert server.count("/api/v1/scopes") == 1  # fetched once, then kept
    assert server.fake.requested == ["api scopegate:all"]  # asked with canonical names
    assert session.catalog is not None and session.catalog.source == CATALOG_URL


def test_a_run_token_serves_a_read_requirement_without_a_new_token(
    server: ScopegateLikeIssuer, cache: TokenCache
) -> None:
    session = cc_session(cache, scopes=("api", "apps:run"))
    with http_for(server) as http:
        token = session.get_token(http=http)
        assert token.scopes == {"api", "apps:run"}
        assert session.get_token(["apps:read"], http=http) is token
    assert session.cached(frozenset({"apps:read"})) is token  # the no-I/O hot path too
    assert server.fake.token_hits == 1


def test_a_challenge_naming_an_alias_steps_up_once_and_succeeds(
    server: ScopegateLikeIssuer, cache: TokenCache
) -> None:
    auth = ScopegateAuth(cc_session(cache))
    with httpx.Client(transport=httpx.MockTransport(server), auth=auth) as client:
        response = client.get(ISSUER + "/legacy")
        assert response.status_code == 200
        # Plain calls keep the narrower token; its refusal is answered from the cache.
        assert client.get(ISSUER + "/legacy").status_code == 200
    assert server.fake.requested == ["api", "api scopegate:all"]
    assert server.count("/legacy") == 4


def test_async_client_uses_the_catalog_the_same_way(
    server: ScopegateLikeIssuer, cache: TokenCache
) -> None:
    server.fake.api_requires = {"apps:run"}
    session = cc_session(cache, scopes=("api", "apps:run"))
    read = required_scopes_extension("apps:read")

    async def call() -> list[int]:
        auth = ScopegateAuth(session)
        async with httpx.AsyncClient(transport=httpx.MockTransport(server), auth=auth) as c:
            first = await c.get(API + "/x")
            second = await c.get(API + "/y", extensions=read)  # declared at run time
            return [first.status_code, second.status_code]

    assert asyncio.run(call()) == [200, 200]
    assert server.fake.token_hits == 1
    assert server.fake.requested == ["api apps:run"]


def test_interactive_session_does_not_step_up_for_an_implied_scope(
    server: ScopegateLikeIssuer, cache: TokenCache
) -> None:
    provider = FakeLoginProvider(server.fake)
    session = TokenSession(provider, cache=cache, interactive=False)
    with http_for(server) as http:
        drive_sync(login_flow(session, ["application_connect"]), http.send, LockRegistry())
        # application_connect implies apps:run, which implies apps:read: no new login.
        token = session.get_token(["apps:read", "application_connect"], http=http)
    assert "scopegate:application_connect" in token.scopes
    assert len(provider.logins) == 1
    assert "scopegate:application_connect" in provider.logins[0]


def test_non_interactive_hint_prints_canonical_names(
    server: ScopegateLikeIssuer, cache: TokenCache
) -> None:
    provider = FakeLoginProvider(server.fake)
    session = TokenSession(provider, cache=cache, interactive=False, environment="prod")
    with http_for(server) as http:
        drive_sync(login_flow(session), http.send, LockRegistry())
        with pytest.raises(ScopeStepUpRequired) as info:
            session.get_token(["all", "apps:read"], http=http)
    assert info.value.missing == ("apps:read", "scopegate:all")
    assert info.value.hint == (
        "scopegate login --env prod --scope apps:read --scope scopegate:all")


# -- the pure decisions, given a catalog ----------------------------------------------


def _token(*scopes: str) -> Token:
    return Token(access_token="t", issuer=ISSUER, client_id="c", scopes=frozenset(scopes))


def test_verify_granted_and_plan_step_up_honour_aliases_and_implication() -> None:
    verify_granted(_token("scopegate:all"), ["all", "apps:read"], CATALOG)
    with pytest.raises(ScopeNotGranted, match=r"\ball\b"):
        verify_granted(_token("scopegate:all"), ["all"])  # literally, as without a catalog
    with pytest.raises(ScopeNotGranted) as info:
        verify_granted(_token("apps:read"), ["application_connect"], CATALOG)
    assert info.value.missing == ("scopegate:application_connect",)
    assert plan_step_up({"apps:run"}, {"apps:read"}, False, catalog=CATALOG) == Covered()
    assert plan_step_up({"api"}, {"all"}, False, catalog=CATALOG) == MissingNonInteractive(
        frozenset({"scopegate:all"}))


def test_challenge_scopes_come_back_canonical_with_a_catalog() -> None:
    header = ['Bearer error="insufficient_scope", scope="all apps:read future:scope"']
    assert insufficient_scope(header, CATALOG) == {"scopegate:all", "apps:read",
                                                   "future:scope"}
    assert insufficient_scope(header) == {"all", "apps:read", "future:scope"}


def test_cache_lookup_and_ceiling_use_the_catalog() -> None:
    cache = TokenCache()
    wide = _token("scopegate:all")
    cache.save(wide)
    assert cache.find(ISSUER, "c", frozenset({"all"})) is None
    assert cache.find(ISSUER, "c", frozenset({"all"}), catalog=CATALOG) is wide
    assert cache.find(ISSUER, "c", frozenset({"apps:read"}), within=frozenset({"all"}),
                      catalog=CATALOG) is wide
    # A token granted more than the ceiling is never handed out, catalog or not.
    assert cache.find(ISSUER, "c", frozenset({"apps:read"}), within=frozenset({"apps:run"}),
                      catalog=CATALOG) is None


# -- no catalog advertised, or it cannot be fetched: literal names, as before ---------


def test_issuer_without_the_endpoint_is_compared_literally(
    server: ScopegateLikeIssuer, cache: TokenCache
) -> None:
    server.advertise = False
    session = cc_session(cache, scopes=("api", "apps:run"))
    with http_for(server) as http:
        session.get_token(http=http)
        session.get_token(["apps:read"], http=http)  # literal: apps:read is not apps:run
        with pytest.raises(ScopeNotGranted) as info:
            session.get_token(["all"], http=http)
    assert info.value.missing == ("all",)
    assert server.fake.token_hits == 3
    assert server.count("/api/v1/scopes") == 0 and session.catalog is None


def _raise_connect_error() -> httpx.Response:
    raise httpx.ConnectError("connection refused")


FAILURES = [
    pytest.param(lambda: httpx.Response(500, json={"error": "server_error"}), id="http-500"),
    pytest.param(lambda: httpx.Response(404, text="<html>not here</html>"), id="html-404"),
    pytest.param(lambda: httpx.Response(200, text="not json"), id="not-json"),
    pytest.param(lambda: httpx.Response(200, json={"scopes": [{"name": "a b"}]}),
                 id="bad-listing"),
    pytest.param(lambda: httpx.Response(200, json={"scopes": []}), id="empty-listing"),
    pytest.param(_raise_connect_error, id="transport-error"),
]


@pytest.mark.parametrize("answer", FAILURES)
def test_a_catalog_that_cannot_be_fetched_falls_back_without_failing_the_call(
    server: ScopegateLikeIssuer, cache: TokenCache, answer: Callable[[], httpx.Response],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.catalog_answer = answer
    session = cc_session(cache, scopes=("api", "apps:run"))
    with caplog.at_level(logging.WARNING, "scopegate.client"), http_for(server) as http:
        first = session.get_token(http=http)
        second = session.get_token(["apps:read"], http=http)
    assert first.scopes == {"api", "apps:run"}
    assert "apps:read" in second.scopes  # literal answer: a second token was requested
    assert server.fake.token_hits == 2
    assert session.catalog is None
    assert server.count("/api/v1/scopes") == 1  # not retried on every call
    assert "scope catalog unavailable" in caplog.text and CATALOG_URL in caplog.text


def test_a_stored_token_that_fits_is_used_without_any_request(
    server: ScopegateLikeIssuer, tmp_path: Path
) -> None:
    """Learning the catalog never costs a request when the stored token already fits."""
    path = tmp_path / "tokens.json"
    writer = cc_session(TokenCache(FileTokenStore(path)), scopes=("api", "apps:run"))
    with http_for(server) as http:
        stored = writer.get_token(http=http)
    sent_before = list(server.paths)
    # A new process: empty memory, same file, and a network that is down.
    reader = cc_session(TokenCache(FileTokenStore(path)), scopes=("api", "apps:run"))
    down = httpx.Client(transport=httpx.MockTransport(lambda r: _raise_connect_error()))
    with down:
        assert reader.get_token(["apps:run"], http=down).access_token == stored.access_token
    assert server.paths == sent_before and reader.catalog is None
