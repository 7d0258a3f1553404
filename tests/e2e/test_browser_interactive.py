"""End to end in real headless Chromium against a real uvicorn server.

The admin CLI registers a user and a public loopback client exactly as a person would;
Authlib's OAuth 2 client plays the CLI/SDK (PKCE S256, state, nonce, token exchange);
Chromium logs in, reads the consent page and presses the buttons.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken
from interactive_server import LoopbackListener, running_server
from typer.testing import CliRunner

from scopegate.cli.main import app as cli

pytestmark = pytest.mark.browser

EMAIL = "ada@example.org"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCOPES = ["openid", "profile", "email", "offline_access", "api", "apps:read", "apps:run"]


def _cli(db_url: str, *args: str, stdin: str | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [*args, "--database-url", db_url, "--json"], input=stdin)
    assert result.exit_code == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A database set up with the CLI, the server on it, and the discovery document."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'scopegate.db'}"
    _cli(db_url, "users", "create", "--email", EMAIL, "--password-stdin", "--name", "Ada",
         stdin=PASSWORD + "\n")
    scope_args = [arg for scope in SCOPES for arg in ("--scope", scope)]
    client = _cli(db_url, "clients", "create", "--name", "Example CLI", "--public",
                  "--grant", "authorization_code", "--grant", "refresh_token",
                  "--grant", "urn:ietf:params:oauth:grant-type:device_code",
                  "--redirect-uri", "http://127.0.0.1/callback", *scope_args)
    assert client["client_secret"] is None
    with running_server(db_url) as issuer:
        meta = httpx.get(issuer + "/.well-known/openid-configuration").json()
        yield {"issuer": issuer, "client_id": client["client_id"], "meta": meta}


@pytest.fixture(scope="module")
def page(world: dict[str, Any], chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context()
        yield context.new_page()
        context.close()
        browser.close()


def _oauth(world: dict[str, Any], redirect_uri: str, scope: str) -> OAuth2Client:
    return OAuth2Client(world["client_id"], redirect_uri=redirect_uri, scope=scope,
                        code_challenge_method="S256", token_endpoint_auth_method="none")


def _id_claims(world: dict[str, Any], token: dict[str, Any], nonce: str) -> Any:
    keys = JsonWebKey.import_key_set(httpx.get(world["meta"]["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keys, claims_cls=CodeIDToken,
                        claims_options={"iss": {"value": world["issuer"]},
                                        "aud": {"value": world["client_id"]}},
                        claims_params={"nonce": nonce, "access_token": token["access_token"],
                                       "client_id": world["client_id"]})
    claims.validate()
    assert claims.header["alg"] == "RS256"  # the OIDC default every RP verifies
    return claims


def _userinfo(world: dict[str, Any], access_token: str) -> httpx.Response:
    return httpx.get(world["meta"]["userinfo_endpoint"],
                     headers={"Authorization": f"Bearer {access_token}"})


def _token(world: dict[str, Any], **form: str) -> httpx.Response:
    return httpx.post(world["meta"]["token_endpoint"],
                      data={"client_id": world["client_id"], **form})


def _browser_login(world: dict[str, Any], page: Any, scope: str
                   ) -> tuple[OAuth2Client, str, str, str, str]:
    """Drive Chromium through authorize (+ login and consent when shown); return the code."""
    with LoopbackListener() as listener:
        oauth = _oauth(world, listener.redirect_uri, scope)
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(12)
        url, state = oauth.create_authorization_url(world["meta"]["authorization_endpoint"],
                                                    code_verifier=verifier, nonce=nonce)
        page.goto(url)
        if page.url.startswith(world["issuer"] + "/login"):
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
        if page.url.startswith(world["issuer"] + "/oauth/authorize"):
            assert page.locator("#client-name").inner_text() == "Example CLI"
            listed = page.locator("ul.scopes li").all_inner_texts()
            assert any("Call the example API on your behalf" in line for line in listed)
            page.get_by_role("button", name="Allow").click()
        page.wait_for_url(f"http://127.0.0.1:{listener.port}/callback?*")
        assert page.locator("h1").inner_text() == "Signed in"
        callbacks = [r for r in listener.requests if r.startswith("/callback")]
        assert len(callbacks) == 1
        callback = f"http://127.0.0.1:{listener.port}{callbacks[0]}"
    return oauth, callback, verifier, nonce, state


def test_pkce_login_consent_exchange_userinfo_refresh(world: dict[str, Any], page: Any) -> None:
    oauth, callback, verifier, nonce, state = _browser_login(
        world, page, "openid profile email offline_access api apps:read")
    token = oauth.fetch_token(world["meta"]["token_endpoint"], authorization_response=callback,
                              code_verifier=verifier, state=state)
    claims = _id_claims(world, token, nonce)
    info = _userinfo(world, token["access_token"]).json()
    assert info == {"sub": claims["sub"], "name": "Ada", "email": EMAIL,
                    "email_verified": False}
    refreshed = _token(world, grant_type="refresh_token",
                       refresh_token=token["refresh_token"]).json()
    assert refreshed["refresh_token"] != token["refresh_token"]
    narrowed = _token(world, grant_type="refresh_token", scope="apps:read",
                      refresh_token=refreshed["refresh_token"]).json()
    assert narrowed["scope"] == "apps:read"
    assert _userinfo(world, narrowed["access_token"]).json()["error"] == "insufficient_scope"
    widened = _token(world, grant_type="refresh_token", scope="apps:run",
                     refresh_token=narrowed["refresh_token"])
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_scope"

    # A replayed code is refused and takes the tokens minted from it down with it.
    replay = _token(world, grant_type="authorization_code", code=dict(
        httpx.URL(callback).params)["code"], code_verifier=verifier,
        redirect_uri=oauth.redirect_uri)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    for access in (token["access_token"], narrowed["access_token"]):
        assert _userinfo(world, access).status_code == 401
    dead = _token(world, grant_type="refresh_token", refresh_token=narrowed["refresh_token"])
    assert dead.json()["error"] == "invalid_grant"


def test_reused_refresh_token_revokes_the_family(world: dict[str, Any], page: Any) -> None:
    # Same browser session and scopes already granted: no login, no consent this time.
    oauth, callback, verifier, _, state = _browser_login(world, page, "openid api")
    token = oauth.fetch_token(world["meta"]["token_endpoint"], authorization_response=callback,
                              code_verifier=verifier, state=state)
    second = _token(world, grant_type="refresh_token",
                    refresh_token=token["refresh_token"]).json()
    reuse = _token(world, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert reuse.json()["error"] == "invalid_grant"
    assert _token(world, grant_type="refresh_token",
                  refresh_token=second["refresh_token"]).json()["error"] == "invalid_grant"
    assert _userinfo(world, second["access_token"]).status_code == 401


@pytest.mark.parametrize("decision", ["Allow", "Deny"])


def test_device_flow(world: dict[str, Any], page: Any, decision: str) -> None:
    start = httpx.post(world["meta"]["device_authorization_endpoint"],
                       data={"client_id": world["client_id"], "scope": "openid api"}).json()
    device = "urn:ietf:params:oauth:grant-type:device_code"
    pending = _token(world, grant_type=device, device_code=start["device_code"])
    assert pending.json()["error"] == "authorization_pending"
    page.goto(start["verification_uri_complete"])
    if page.url.startswith(world["issuer"] + "/login"):
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
    assert page.get_by_label("Code").input_value() == start["user_code"]
    page.get_by_role("button", name="Continue").click()
    assert page.locator("#user-code").inner_text() == start["user_code"]
    assert "Call the example API on your behalf" in page.locator("ul.scopes").inner_text()
    page.get_by_role("button", name=decision).click()
    title = page.locator("#message-title").inner_text()
    answer = _token(world, grant_type=device, device_code=start["device_code"])
    if decision == "Allow":
        assert title == "Device connected"
        assert answer.status_code == 200 and {"access_token", "refresh_token"} <= set(
            answer.json())
        again = _token(world, grant_type=device, device_code=start["device_code"])
        assert again.json()["error"] in ("invalid_grant", "slow_down")
    else:
        assert title == "Request denied"
        assert answer.status_code == 400 and answer.json()["error"] == "access_denied"


def test_screenshot_of_the_consent_page(world: dict[str, Any], page: Any,
                                        tmp_path: Path) -> None:
    with LoopbackListener() as listener:
        oauth = _oauth(world, listener.redirect_uri, "openid apps:run")
        url, _ = oauth.create_authorization_url(world["meta"]["authorization_endpoint"],
                                                code_verifier="w" * 50, nonce="n")
        page.goto(url + "&prompt=consent")
        shot = tmp_path / "consent.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 1000
        assert page.get_by_role("button", name="Deny").is_visible()


def test_wrong_passwords_make_the_page_say_when_to_try_again(world: dict[str, Any],
                                                             page: Any) -> None:
    context = page.context.browser.new_context()  # signed out

    def sign_in(fresh: Any, password: str) -> Any:
        fresh.get_by_label("Email").fill(EMAIL)
        fresh.get_by_label("Password").fill(password)
        with fresh.expect_response(world["issuer"] + "/login") as answer:
            fresh.get_by_role("button", name="Sign in").click()
        return answer.value

    try:
        fresh = context.new_page()
        fresh.goto(world["issuer"] + "/login")
        for _ in range(5):  # SCOPEGATE_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS, default 5
            assert sign_in(fresh, "not the password").status == 401
        # Then each try waits 1 s, doubled per failure: a slow machine may get one more.
        statuses = []
        while (refused := sign_in(fresh, "not the password")).status == 401:
            statuses.append(401)
            assert len(statuses) < 4
        wait = int(refused.headers["retry-after"])
        assert refused.status == 429 and 1 <= wait <= 16
        unit = "second" if wait == 1 else "seconds"
        assert (f"Too many sign-in attempts. Try again in {wait} {unit}."
                in fresh.locator("main").inner_text())
        fresh.wait_for_timeout(wait * 1000 + 100)
        assert sign_in(fresh, PASSWORD).status == 303
        fresh.wait_for_url(world["issuer"] + "/device")
    finally:
        context.close()


def test_allow_after_mistyped_codes_is_not_a_guess(world: dict[str, Any], page: Any) -> None:
    start = httpx.post(world["meta"]["device_authorization_endpoint"],
                       data={"client_id": world["client_id"], "scope": "openid api"}).json()
    page.goto(world["issuer"] + "/device")
    if page.url.startswith(world["issuer"] + "/login"):
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
    for _ in range(9):  # one short of the ten free wrong codes per session
        page.get_by_label("Code").fill("BCDF-GHJK")
        page.get_by_role("button", name="Continue").click()
        assert "not valid" in page.locator("main").inner_text()
    page.get_by_label("Code").fill(start["user_code"])
    page.get_by_role("button", name="Continue").click()
    assert page.locator("#user-code").inner_text() == start["user_code"]
    page.get_by_role("button", name="Allow").click()
    assert page.locator("#message-title").inner_text() == "Device connected"
def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name!r}"
    return found.group(1)


def test_a_cookie_copied_before_logout_is_refused_after_it(world: dict[str, Any],
                                                           page: Any) -> None:
    issuer = world["issuer"]
    with httpx.Client(base_url=issuer) as victim:
        form = victim.get("/login")
        signed_in = victim.post("/login", data={
            "csrf": _hidden(form.text, "csrf"), "email": EMAIL, "password": PASSWORD,
            "next": "/device"})
        assert signed_in.status_code == 303
        stolen = {"cookie": f"sg_session={victim.cookies['sg_session']}"}
        assert httpx.get(issuer + "/device", headers=stolen).status_code == 200
        device = victim.get("/device")
        assert victim.post("/logout", data={"csrf": _hidden(device.text, "csrf")}
                           ).status_code == 303
    refused = httpx.get(issuer + "/device", headers=stolen)
    assert refused.status_code == 302 and refused.headers["location"].startswith("/login")
    with LoopbackListener() as listener:
        url, _ = _oauth(world, listener.redirect_uri, "openid api").create_authorization_url(
            world["meta"]["authorization_endpoint"], code_verifier="v" * 50, nonce="n")
        silent = httpx.get(url + "&prompt=none", headers=stolen)
    assert "error=login_required" in silent.headers["location"]



def test_logging_out_one_browser_leaves_the_others_signed_in(world: dict[str, Any],
                                                             page: Any) -> None:
    issuer = world["issuer"]
    page.goto(issuer + "/device")
    if page.url.startswith(issuer + "/login"):
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    with httpx.Client(base_url=issuer) as other:
        form = other.get("/login")
        assert other.post("/login", data={"csrf": _hidden(form.text, "csrf"), "email": EMAIL,
                                          "password": PASSWORD}).status_code == 303
        device = other.get("/device")
        assert other.post("/logout", data={"csrf": _hidden(device.text, "csrf")}
                          ).status_code == 303
    page.goto(issuer + "/device")
    assert page.url.startswith(issuer + "/device")
    assert page.get_by_label("Code").is_visible()
