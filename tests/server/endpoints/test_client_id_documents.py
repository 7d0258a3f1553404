"""Client ID metadata documents: an https URL as ``client_id``, fetched from a real HTTP
server (loopback allowed by the test-only setting), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.testclient import TestClient
from tests.guard.authserver import ServerThread, free_port
from tests.server.conftest import settings_for
from tests.server.grants.flow import (
    approve,
    authorize_params,
    exchange,
    log_in_new_member,
    open_browser,
    pkce_pair,
    redirect_query,
)

from scopegate.errors import InvalidClient, TemporarilyUnavailable
from scopegate.server.admin.clients import find_client
from scopegate.server.config.settings import Settings
from scopegate.server.registration.documents import MAX_FETCHING, ClientDocuments, cache_ttl
from scopegate.server.state import ServerState

HITS: Counter[str] = Counter()


def _document(request: Request, **changes: Any) -> dict[str, Any]:
    return {"client_id": str(request.url), "client_name": "Doc App",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none", **changes}


async def _trickle() -> AsyncIterator[bytes]:
    for piece in (b"{", b'"client_id"', b":", b'"x"', b"}"):
        yield piece
        await asyncio.sleep(0.8)


async def _serve(request: Request) -> Response:
    name = request.path_params["name"]
    HITS[name] += 1
    if name == "slow":
        await asyncio.sleep(3)
    if name == "redirect":
        return RedirectResponse("/docs/good", status_code=302)
    if name == "missing":
        return JSONResponse({"error": "no"}, status_code=404)
    if name == "not-json":
        return PlainTextResponse("hello")
    if name == "trickle":  # every read within 2 s, the whole well past it
        return StreamingResponse(_trickle(), media_type="application/json")
    if name == "streamed-huge":
        return StreamingResponse(iter([b'{"client_id": "', b"x" * 8000, b'"}']),
                                 media_type="application/json")
    changes: dict[str, Any] = {
        "huge": {"software_id": "x" * 180, "contacts": ["y" * 180] * 5,
                 "padding": "z" * 6000},
        "wrong-id": {"client_id": "https://elsewhere.example/client"},
        "secret": {"client_secret": "s3cret"},
        "bad-redirect": {"redirect_uris": ["http://evil.example/cb"]},
        "confidential": {"token_endpoint_auth_method": "client_secret_basic"},
    }.get(name, {})
    return JSONResponse(_document(request, **changes),
                        headers={"Cache-Control": "public, max-age=600"})


@pytest.fixture(scope="module")
def documents() -> Iterator[str]:
    """A real HTTP server of metadata documents; yields its base URL."""
    thread = ServerThread(Starlette(routes=[Route("/docs/{name}", _serve)])).start()
    yield f"http://127.0.0.1:{thread.port}/docs/"
    thread.stop()


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    return settings_for(database_url, client_id_documents_allow_loopback=True)


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


def test_a_document_url_is_a_public_pkce_client_end_to_end(
        browser: TestClient, state: ServerState, documents: str) -> None:
    client_id = documents + "good"
    HITS.clear()
    log_in_new_member(browser, state)
    verifier, challenge = pkce_pair()
    consent = browser.get("/oauth/authorize", params=authorize_params(client_id, challenge),
                          follow_redirects=False)
    assert consent.status_code == 200, consent.text[:300]
    assert "Doc App" in consent.text
    code = redirect_query(approve(browser, consent))["code"]
    tokens = exchange(browser, client_id, code, verifier)
    assert tokens.status_code == 200, tokens.text
    claims = jwt.decode(tokens.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == client_id
    assert HITS["good"] == 1  # fetched once, then served from the cache for max-age
    stored = find_client(state.db, client_id)
    assert stored is not None and stored.is_public and stored.registered_dynamically


@pytest.mark.parametrize(("name", "words"), [
    ("slow", "did not answer within 2 seconds"),
    ("trickle", "did not answer within 2 seconds"),
    ("huge", "larger than 5120 bytes"),
    ("streamed-huge", "larger than 5120 bytes"),
    ("redirect", "redirects are not followed"),
    ("missing", "answered HTTP 404"),
    ("not-json", "did not return JSON"),
    ("wrong-id", "client_id is not its own URL"),
    ("secret", "must not carry a client secret"),
    ("bad-redirect", "redirect URI"),
    ("confidential", "confidential"),
])
def test_an_unusable_document_is_refused_with_a_sentence_and_nothing_stored(
        browser: TestClient, state: ServerState, documents: str, name: str,
        words: str) -> None:
    client_id = documents + name
    _, challenge = pkce_pair()
    page = browser.get("/oauth/authorize", params=authorize_params(client_id, challenge),
                       follow_redirects=False)
    assert page.status_code == 400
    assert words in page.text.replace("&#39;", "'")
    token = browser.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": "x", "code_verifier": "y" * 43,
        "redirect_uri": "http://127.0.0.1/callback", "client_id": client_id})
    assert token.status_code == 401
    assert words in token.json()["error_description"]
    assert find_client(state.db, client_id) is None


def test_an_unreachable_document_is_refused(browser: TestClient) -> None:
    client_id = f"http://127.0.0.1:{free_port()}/docs/gone"
    token = browser.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": "x", "client_id": client_id})
    assert token.status_code == 401
    assert token.json()["error_description"] == "the client_id URL could not be fetched"


@pytest.mark.parametrize(("client_id", "words"), [
    ("https://127.0.0.1:9/docs/good", "not on a public address"),
    ("https://localhost/docs/good", "not on a public address"),
    ("https://10.1.2.3/client", "not on a public address"),
    ("https://[::1]/client", "not on a public address"),
    ("https://169.254.169.254/latest/meta-data", "not on a public address"),
    ("http://example.com/client", "must use https"),
    ("https://example.com/", "with a path"),
    ("https://example.com/a/../b", "dot segments"),
    ("https://user@example.com/client", "user name"),
    ("https://example.com/client#frag", "fragment"),
])
def test_without_the_test_setting_only_public_https_urls_are_fetched(
        state: ServerState, client_id: str, words: str) -> None:
    resolver = ClientDocuments(state, allow_loopback=False)
    with pytest.raises(InvalidClient, match=words):
        asyncio.run(resolver.get(client_id))
    asyncio.run(resolver.aclose())


def test_too_many_fetches_at_once_are_refused_for_now(state: ServerState,
                                                     documents: str) -> None:
    resolver = ClientDocuments(state, allow_loopback=True)
    resolver.fetching = MAX_FETCHING  # as if that many slow documents were being fetched
    with pytest.raises(TemporarilyUnavailable, match="try again"):
        asyncio.run(resolver.get(documents + "fresh"))
    resolver.fetching = 0
    assert asyncio.run(resolver.get(documents + "fresh")) is not None


@pytest.mark.parametrize(("header", "seconds"), [
    (None, 300), ("max-age=600", 600), ("public, max-age=1", 30),
    ("max-age=99999999", 3600), ("no-store", 30), ("no-cache, max-age=600", 30),
    ("max-age=abc", 300),
])
def test_the_cache_honours_max_age_within_limits(header: str | None, seconds: float) -> None:
    assert cache_ttl(header) == seconds
