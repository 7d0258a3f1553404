"""/oauth/authorize, login and consent: the happy path and every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.state import ServerState

from ..grants.flow import (
    approve,
    authorize_params,
    exchange,
    get_code,
    hidden,
    log_in_new_member,
    login,
    make_client,
    make_user,
    open_browser,
    pkce_pair,
    redirect_query,
)

ISSUER = "http://testserver"


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def logged_in(browser: TestClient, state: ServerState) -> TestClient:
    return log_in_new_member(browser, state)


def _authorize(browser: TestClient, client_id: str, **extra: str):  # type: ignore[no-untyped-def]
    _, challenge = pkce_pair()
    return browser.get("/oauth/authorize", params=authorize_params(client_id, challenge, **extra),
                       follow_redirects=False)


def test_full_flow_consent_lists_scopes_and_is_remembered(logged_in: TestClient,
                                                          state: ServerState) -> None:
    client_id, _ = make_client(state)
    verifier, challenge = pkce_pair()
    params = authorize_params(client_id, challenge, scope="openid api apps:read")
    page = logged_in.get("/oauth/authorize", params=params, follow_redirects=False)
    assert page.status_code == 200
    assert "Call the example API on your behalf" in page.text
    assert "List and read apps" in page.text and "Test CLI" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    query = redirect_query(approve(logged_in, page))
    assert query["state"] == "st-1" and query["iss"] == ISSUER
    body = exchange(logged_in, client_id, query["code"], verifier).json()
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
    assert body["scope"] == "api apps:read openid"

    again = _authorize(logged_in, client_id, scope="openid api")
    assert again.status_code == 302 and "code=" in again.headers["location"]
    wider = _authorize(logged_in, client_id, scope="openid api apps:run")
    assert wider.status_code == 200  # apps:run was never granted
    assert "Run apps" in wider.text and "(granted before)" in wider.text


def test_not_logged_in_goes_to_login_and_back(browser: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    response = _authorize(browser, client_id, prompt="login consent")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    back = parse_qs(location.query)["next"][0]
    assert back.startswith("/oauth/authorize?") and "prompt=consent" in back
    assert "login" not in parse_qs(urlsplit(back).query)["prompt"][0]
    user = make_user(state)
    done = login(browser, user.email, next_path=back)
    assert done.status_code == 303 and done.headers["location"] == back


def test_login_failures_are_refused_and_rate_limited(browser: TestClient,
                                                     state: ServerState) -> None:
    user = make_user(state)
    wrong = login(browser, user.email, "not the password")
    assert wrong.status_code == 401 and "incorrect" in wrong.text
    nobody = login(browser, "nobody@example.org", "whatever-password")
    assert nobody.status_code == 401
    forged = browser.post("/login", data={"csrf": "forged", "email": user.email,
                                          "password": "x"}, follow_redirects=False)
    assert forged.status_code == 403 and "invalid_csrf" in forged.text
    limits = state.user_grants.login_limits
    limits.failures_per_account_address = 3
    try:
        statuses = [login(browser, user.email, "bad password!").status_code for _ in range(3)]
        assert statuses[-1] == 429
        # From this address even the right password is refused while it must wait.
        blocked = login(browser, user.email)
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    finally:
        limits.failures_per_account_address = 5


def test_login_next_never_leaves_the_site(browser: TestClient, state: ServerState) -> None:
    user = make_user(state)
    response = login(browser, user.email, next_path="//evil.example/x")
    assert response.headers["location"] == "/device"


@pytest.mark.parametrize(("params", "code"), [
    ({"client_id": ""}, "invalid_request"),
    ({"client_id": "no-such-client"}, "invalid_client"),
    ({"redirect_uri": "http://127.0.0.1:5555/elsewhere"}, "invalid_request"),
    ({"redirect_uri": "https://evil.example/callback"}, "invalid_request"),
    ({"redirect_uri": ""}, "invalid_request"),
])
def test_bad_client_or_redirect_is_shown_not_redirected(
        logged_in: TestClient, state: ServerState, params: dict[str, str], code: str) -> None:
    client_id, _ = make_client(state)
    params = dict(params)  # parametrized values are shared between the two databases
    response = _authorize(logged_in, params.pop("client_id", client_id), **params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert f'<code id="error-code">{code}</code>' in response.text


@pytest.mark.parametrize("requested", [
    "http://evil.example@127.0.0.1:51234/callback",  # userinfo: shown as the "host"
    "HTTP://127.0.0.1:51234/callback",                # scheme spelled differently
    "http://127.0.0.1:051234/callback",               # port with a leading zero
    "http://127.0.0.1:0/callback",                    # port 0 is nobody's listener
    "http://127.0.0.1:/callback",                     # empty port
    "http://127.0.0.1:51234/callback?extra=1",        # query not registered
])
def test_loopback_redirect_is_exact_except_the_port(
        logged_in: TestClient, state: ServerState, requested: str) -> None:
    """RFC 8252 §7.3, RFC 9700 §4.1.3: only the port may vary, written plainly."""
    client_id, _ = make_client(state)
    response = _authorize(logged_in, client_id, redirect_uri=requested)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert '<code id="error-code">invalid_request</code>' in response.text


@pytest.mark.parametrize("port", ["1", "8080", "51234", "65535"])
def test_loopback_redirect_accepts_any_plain_port(
        logged_in: TestClient, state: ServerState, port: str) -> None:
    client_id, _ = make_client(state)
    response = _authorize(logged_in, client_id, redirect_uri=f"http://127.0.0.1:{port}/callback",
                          prompt="none")
    assert response.status_code == 302
    assert response.headers["location"].startswith(f"http://127.0.0.1:{port}/callback?")


def test_repeated_parameter_is_shown(logged_in: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    response = logged_in.get(f"/oauth/authorize?client_id={client_id}&client_id={client_id}",
                             follow_redirects=False)
    assert response.status_code == 400 and "repeated" in response.text


@pytest.mark.parametrize(("extra", "error"), [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"code_challenge": ""}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"scope": "openid no-such-scope"}, "invalid_scope"),
    ({"scope": "keys:write"}, "invalid_scope"),  # not allowed for the client
    ({"scope": "apps:write"}, "invalid_scope"),  # the member role may not hold it
    ({"resource": "https://unknown.example"}, "invalid_target"),
    ({"prompt": "select_account"}, "invalid_request"),
    ({"prompt": "none consent"}, "invalid_request"),
    ({"state": "s" * 2000}, "invalid_request"),
])
def test_errors_are_redirected_with_state(logged_in: TestClient, state: ServerState,
                                          extra: dict[str, str], error: str) -> None:
    client_id, _ = make_client(state)
    response = _authorize(logged_in, client_id, **extra)
    query = redirect_query(response)
    assert query["error"] == error
    assert query["iss"] == ISSUER
    assert query["state"] == extra.get("state", "st-1")
    assert response.headers["location"].startswith("http://127.0.0.1:5555/callback?")


def test_client_without_the_code_grant_is_unauthorized(logged_in: TestClient,
                                                       state: ServerState) -> None:
    client_id, _ = make_client(state, grants=("refresh_token",))
    assert redirect_query(_authorize(logged_in, client_id))["error"] == "unauthorized_client"


def test_prompt_none(browser: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    assert redirect_query(_authorize(browser, client_id, prompt="none"))["error"] == \
        "login_required"
    user = make_user(state)
    login(browser, user.email)
    assert redirect_query(_authorize(browser, client_id, prompt="none"))["error"] == \
        "consent_required"
    get_code(browser, client_id)
    assert "code" in redirect_query(_authorize(browser, client_id, prompt="none"))


def test_prompt_consent_asks_again(logged_in: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    get_code(logged_in, client_id)
    assert _authorize(logged_in, client_id, prompt="consent").status_code == 200


def test_deny_redirects_access_denied(logged_in: TestClient, state: ServerState) -> None:
    client_id, _ = make_client(state)
    page = _authorize(logged_in, client_id)
    query = redirect_query(approve(logged_in, page, "deny"))
    assert query == {"error": "access_denied", "error_description": "the user denied the request",
                     "state": "st-1", "iss": ISSUER}


def test_decision_needs_csrf_and_an_untampered_request(logged_in: TestClient,
                                                       state: ServerState) -> None:
    client_id, _ = make_client(state)
    page = _authorize(logged_in, client_id)
    request_token = hidden(page.text, "request")
    no_csrf = logged_in.post("/oauth/authorize/decision",
                             data={"csrf": "x", "request": request_token,
                                   "decision": "approve"}, follow_redirects=False)
    assert no_csrf.status_code == 403 and "invalid_csrf" in no_csrf.text
    tampered = logged_in.post("/oauth/authorize/decision",
                              data={"csrf": hidden(page.text, "csrf"),
                                    "request": request_token[:-3] + "abc",
                                    "decision": "approve"}, follow_redirects=False)
    assert tampered.status_code == 400 and "invalid_request" in tampered.text


def test_confidential_client_exchanges_with_its_secret(logged_in: TestClient,
                                                      state: ServerState) -> None:
    client_id, secret = make_client(state, public=False)
    code, verifier, _ = get_code(logged_in, client_id)
    response = exchange(logged_in, client_id, code, verifier, secret=secret)
    assert response.status_code == 200, response.text
    assert exchange(logged_in, client_id, code, verifier).json()["error"] == "invalid_client"


def test_a_role_refusal_names_the_role_and_the_scope(logged_in: TestClient,
                                                     state: ServerState) -> None:
    """One role cap, one sentence: the same words the API-key endpoint uses."""
    client_id, _ = make_client(state)
    query = redirect_query(_authorize(logged_in, client_id, scope="apps:write"))
    assert query["error"] == "invalid_scope"
    assert query["error_description"] == "scope(s) beyond your role (member): apps:write"
