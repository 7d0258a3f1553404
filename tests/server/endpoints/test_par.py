"""Pushed authorization requests (RFC 9126) against the real server: push, then sign in
through the real pages with only client_id and request_uri; every misuse refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.app import create_app
from scopegate.server.ops.maintenance import prune_expired
from scopegate.server.state import ServerState
from scopegate.store.models import PushedRequest, utcnow

from ..conftest import settings_for
from ..grants.flow import (
    PASSWORD,
    approve,
    authorize_params,
    exchange,
    hidden,
    log_in_new_member,
    make_client,
    make_user,
    open_browser,
    pkce_pair,
    redirect_query,
)

PAR = "/oauth/par"
PREFIX = "urn:ietf:params:oauth:request_uri:"


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def logged_in(browser: TestClient, state: ServerState) -> TestClient:
    return log_in_new_member(browser, state)


def rows(state: ServerState) -> int:
    with state.db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(PushedRequest)) or 0)


def push(http: TestClient, client_id: str, challenge: str, secret: str = "",
         **extra: str) -> httpx.Response:
    data = authorize_params(client_id, challenge, **extra)
    if secret:
        return http.post(PAR, data=data, auth=(client_id, secret))
    return http.post(PAR, data=data)


def use(browser: TestClient, client_id: str, request_uri: str, **extra: str) -> httpx.Response:
    return browser.get("/oauth/authorize", params={"client_id": client_id,
                                                   "request_uri": request_uri, **extra},
                       follow_redirects=False)


def test_metadata_advertises_the_endpoint_and_acr(http: TestClient) -> None:
    doc = http.get("/.well-known/oauth-authorization-server").json()
    assert doc["pushed_authorization_request_endpoint"] == "http://testserver/oauth/par"
    assert doc["require_pushed_authorization_requests"] is False
    assert doc["acr_values_supported"] == ["urn:scopegate:acr:password"]
    assert {"auth_time", "acr"} <= set(doc["claims_supported"])


def test_pushed_request_signs_in_once(logged_in: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    verifier, challenge = pkce_pair()
    pushed = push(logged_in, client_id, challenge, scope="openid api apps:read")
    assert pushed.status_code == 201, pushed.text
    assert pushed.headers["cache-control"] == "no-store"
    body = pushed.json()
    assert body["request_uri"].startswith(PREFIX) and body["expires_in"] == 60
    # Parameters in the URL besides client_id and request_uri are ignored (RFC 9126 §4).
    page = use(logged_in, client_id, body["request_uri"], scope="apps:write", state="other")
    assert page.status_code == 200 and "List and read apps" in page.text
    assert "Create and change apps" not in page.text
    query = redirect_query(approve(logged_in, page))
    assert query["state"] == "st-1"
    token = exchange(logged_in, client_id, query["code"], verifier).json()
    assert token["scope"] == "api apps:read openid"
    again = use(logged_in, client_id, body["request_uri"])
    assert again.status_code == 400 and "already used" in again.text
    assert "invalid_request_uri" in again.text


def test_the_request_uri_survives_the_login_page(browser: TestClient,
                                                 state: ServerState) -> None:
    client_id, _ = make_client(state)
    _, challenge = pkce_pair()
    request_uri = push(browser, client_id, challenge).json()["request_uri"]
    to_login = use(browser, client_id, request_uri)
    assert to_login.status_code == 302
    back = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
    assert "request_uri=" in back and "code_challenge" not in back
    user = make_user(state)
    form = browser.get(to_login.headers["location"])
    signed_in = browser.post("/login", data={"csrf": hidden(form.text, "csrf"),
                                             "email": user.email, "password": PASSWORD,
                                             "next": back}, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == back
    consent = browser.get(back, follow_redirects=False)
    assert "code" in redirect_query(approve(browser, consent))
    # Consent is remembered now, yet the same request_uri gives no second code.
    replay = browser.get(back, follow_redirects=False)
    assert replay.status_code == 400 and "invalid_request_uri" in replay.text


def test_a_second_authorization_at_once_gets_no_code(logged_in: TestClient,
                                                     state: ServerState) -> None:
    client_id, _ = make_client(state)
    _, challenge = pkce_pair()
    request_uri = push(logged_in, client_id, challenge).json()["request_uri"]
    first, second = use(logged_in, client_id, request_uri), use(logged_in, client_id,
                                                                request_uri)
    assert first.status_code == second.status_code == 200  # two consent pages, one request
    assert "code" in redirect_query(approve(logged_in, first))
    refused = approve(logged_in, second)
    assert refused.status_code == 400 and "already used" in refused.text


def test_expired_unknown_and_foreign_request_uris_are_refused(
        logged_in: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    other_id, _ = make_client(state)
    _, challenge = pkce_pair()
    request_uri = push(logged_in, client_id, challenge).json()["request_uri"]
    foreign = use(logged_in, other_id, request_uri)
    assert foreign.status_code == 400 and "another client" in foreign.text
    unknown = use(logged_in, client_id, PREFIX + "x" * 43)
    assert unknown.status_code == 400 and "invalid_request_uri" in unknown.text
    with state.db.session() as session:  # the push's 60 s pass before the browser comes
        session.execute(sa.update(PushedRequest).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    expired = use(logged_in, client_id, request_uri)
    assert expired.status_code == 400 and "expired" in expired.text
    assert "invalid_request_uri" in expired.text


@pytest.mark.parametrize(("extra", "status", "error", "words"), [
    ({"code_challenge_method": "plain"}, 400, "invalid_request", "S256"),
    ({"redirect_uri": "https://evil.example/cb"}, 400, "invalid_request", "not registered"),
    ({"scope": "nonsense:scope"}, 400, "invalid_scope", "nonsense"),
    ({"max_age": "soon"}, 400, "invalid_request", "max_age"),
    ({"acr_values": "urn:example:mfa"}, 400, "unmet_authentication_requirements",
     "urn:scopegate:acr:password"),
    ({"request_uri": PREFIX + "abc"}, 400, "invalid_request", "cannot be pushed"),
    ({"state": "s" * 9000}, 413, "invalid_request", "8192 bytes"),
])
def test_bad_pushes_get_their_error_and_store_nothing(
        http: TestClient, state: ServerState, extra: dict[str, str], status: int,
        error: str, words: str) -> None:
    client_id, _ = make_client(state)
    _, challenge = pkce_pair()
    before = rows(state)
    answer = push(http, client_id, challenge, **extra)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error and words in answer.json()["error_description"]
    assert rows(state) == before


def test_a_confidential_client_authenticates_to_push(http: TestClient,
                                                     state: ServerState) -> None:
    client_id, secret = make_client(state, public=False)
    _, challenge = pkce_pair()
    assert push(http, client_id, challenge).status_code == 401
    assert push(http, client_id, challenge, secret="wrong").status_code == 401
    assert push(http, client_id, challenge, secret=secret).status_code == 201


def test_a_client_that_registered_the_requirement_must_push(
        logged_in: TestClient, state: ServerState) -> None:
    registered = logged_in.post("/oauth/register", json={
        "client_name": "Pushes", "redirect_uris": ["http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none",
        "require_pushed_authorization_requests": True})
    assert registered.status_code == 201, registered.text
    assert registered.json()["require_pushed_authorization_requests"] is True
    client_id = registered.json()["client_id"]
    _, challenge = pkce_pair()
    direct = logged_in.get("/oauth/authorize", params=authorize_params(
        client_id, challenge, scope="openid"), follow_redirects=False)
    assert direct.status_code == 400 and "must be pushed first" in direct.text
    request_uri = push(logged_in, client_id, challenge, scope="openid").json()["request_uri"]
    assert use(logged_in, client_id, request_uri).status_code == 200  # consent page
    bad = logged_in.post("/oauth/register", json={
        "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none",
        "require_pushed_authorization_requests": "yes"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client_metadata"


def test_a_server_that_requires_pushing(database_url: str, state: ServerState) -> None:
    app = create_app(settings_for(database_url, par_required=True))
    client_id, _ = make_client(state)
    _, challenge = pkce_pair()
    with TestClient(app, raise_server_exceptions=False) as http:
        doc = http.get("/.well-known/openid-configuration").json()
        assert doc["require_pushed_authorization_requests"] is True
        direct = http.get("/oauth/authorize", params=authorize_params(client_id, challenge),
                          follow_redirects=False)
        assert direct.status_code == 400 and "must be pushed first" in direct.text
        request_uri = push(http, client_id, challenge).json()["request_uri"]
        to_login = use(http, client_id, request_uri)
        assert to_login.status_code == 302
        assert urlsplit(to_login.headers["location"]).path == "/login"


def test_expired_requests_are_pruned_by_the_maintenance_pass(http: TestClient,
                                                             state: ServerState) -> None:
    client_id, _ = make_client(state)
    _, challenge = pkce_pair()
    assert push(http, client_id, challenge).status_code == 201
    before = rows(state)
    report = prune_expired(state.db, now=utcnow() + timedelta(seconds=61))
    assert report.pruned["pushed_authorization_requests"] >= 1
    assert rows(state) < before
