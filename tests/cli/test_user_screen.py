"""What the user CLI prints is true and inert: server text cannot paint the terminal,
``logout`` says whether the server revoked, ``token`` prints only a token covering every
``--scope``, and a 429 says when to retry. A fake authorization server on loopback."""

from __future__ import annotations

import email.utils
import json
import time
import unicodedata
from pathlib import Path

import httpx
import pytest

from scopegate.client import Token, TokenEndpointError, session_from_env
from scopegate.client._cache import TokenCache
from scopegate.client._stores import FileTokenStore

from .conftest import run_cli
from .loopback_issuer import PUBLIC_ID, Answer, LoopbackIssuer

HOSTILE = [
    pytest.param("\x1b[2J\x1b[Hcleared", id="erase-screen"),
    pytest.param("\x1b]52;c;ZWNobyBwd25lZA==\x07copied", id="osc52-clipboard"),
    pytest.param("bad scope\nLogged in as admin", id="fake-line"),
    pytest.param("see [/x] and [bold red]this[/]", id="rich-markup"),
    pytest.param("\x9b2J\x9d0;title\x9cc1", id="c1-controls"),
    pytest.param("\u202eevil\u202c\r\x08\x00", id="bidi-cr-backspace-nul"),
]


def assert_inert(text: str) -> None:
    """No control characters but the line ends, and no line forged by the server."""
    assert not [c for c in text if unicodedata.category(c) == "Cc" and c != "\n"], repr(text)
    assert "\u202e" not in text
    assert not any(line.startswith("Logged in") for line in text.splitlines())


@pytest.mark.parametrize("description", HOSTILE)
def test_an_error_description_is_printed_inert_on_one_line(
    config: Path, server: LoopbackIssuer, description: str
) -> None:
    server.overrides["/oauth/token"] = lambda _: Answer(
        400, {"error": "invalid_scope", "error_description": description})
    code, out, err = run_cli("token", "--env", "svc")
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and err.count("\n") == 1, repr(err)
    assert_inert(err)
    if "[/x]" in description:
        assert "see [/x] and [bold red]this[/]" in err  # shown as written, not as markup


def seed_session(config: Path, server: LoopbackIssuer, subject: str, scopes: set[str]) -> None:
    token = Token(access_token="at-seeded", issuer=server.url, client_id=PUBLIC_ID,
                  scopes=frozenset(scopes), subject=subject, expires_at=time.time() + 3600)
    TokenCache(FileTokenStore(config / "tokens.json")).save(token)


@pytest.mark.parametrize("subject", HOSTILE)
def test_status_prints_a_server_chosen_subject_inert(
    config: Path, server: LoopbackIssuer, subject: str
) -> None:
    seed_session(config, server, subject, {"api", "x[/y]\x1b[31m"})
    code, out, err = run_cli("status", "--env", "prod")
    assert code == 0, err
    assert_inert(out)
    assert out.count("\n") == 3  # who, scopes, audience
    if "[/x]" in subject:
        assert "see [/x] and [bold red]this[/]" in out


def test_the_device_prompt_prints_server_text_inert(config: Path, server: LoopbackIssuer) -> None:
    server.overrides["/oauth/device_authorization"] = lambda _: Answer(200, {
        "device_code": "dc", "user_code": "AB[/x]\x1b[2J", "expires_in": 60, "interval": 1,
        "verification_uri": server.url + "/device\nLogged in as admin",
        "verification_uri_complete": server.url + "/device?c=\x1b]52;c;eA==\x07"})
    server.overrides["/oauth/token"] = lambda _: Answer(400, {"error": "access_denied"})
    code, _, err = run_cli("login", "--env", "prod", "--device")
    assert code == 1
    assert "denied" in err and "AB[/x]" in err
    assert_inert(err)


def test_a_token_with_control_characters_is_not_printed(
    config: Path, server: LoopbackIssuer
) -> None:
    server.overrides["/oauth/token"] = lambda _: Answer(200, {
        "access_token": "at\x1b]52;c;eA==\x07", "token_type": "Bearer", "expires_in": 60})
    code, out, err = run_cli("token", "--env", "svc")
    assert (code, out) == (1, "")
    assert "error:" in err
    assert_inert(err)


# -- logout revokes, with client authentication, and says what the server answered ------

def introspect(server: LoopbackIssuer, token: str) -> bool:
    answer = httpx.post(server.url + "/oauth/introspect", data={"token": token})
    return bool(answer.json()["active"])


def test_logout_revokes_with_client_authentication(config: Path, server: LoopbackIssuer) -> None:
    code, token, err = run_cli("token", "--env", "svc")
    assert code == 0, err
    token = token.strip()
    assert introspect(server, token)
    code, _, err = run_cli("logout", "--env", "svc")
    assert code == 0, err
    assert "Logged out of svc" in err
    revocations = [r for r in server.received if r.path == "/oauth/revoke"]
    assert revocations and all(r.headers["authorization"].startswith("Basic ")
                               for r in revocations)
    assert "client_secret" not in revocations[0].form  # RFC 6749 §2.3.1: Basic, not the body
    assert not introspect(server, token)


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        pytest.param(Answer(401, {"error": "invalid_client",
                                  "error_description": "bad \x1b[2Jcredentials"}),
                     "HTTP 401 invalid_client (bad credentials)", id="401"),
        pytest.param(Answer(503, b"<html>down</html>", {"Content-Type": "text/html"}),
                     "HTTP 503", id="503-html"),
    ],
)
def test_logout_says_when_the_server_did_not_revoke(
    config: Path, server: LoopbackIssuer, answer: Answer, shown: str
) -> None:
    code, token, _ = run_cli("token", "--env", "svc")
    assert code == 0
    server.overrides["/oauth/revoke"] = lambda _: answer
    code, _, err = run_cli("logout", "--env", "svc")
    assert code == 1
    assert "Logged out" not in err
    assert shown in err and "still valid" in err
    assert_inert(err)
    assert introspect(server, token.strip())  # the server really still accepts it
    # The local entry is gone all the same.
    code, out, _ = run_cli("status", "--env", "svc", "--json")
    assert json.loads(out)["logged_in"] is False


def test_logout_of_a_public_client_names_it_in_the_form(
    config: Path, server: LoopbackIssuer
) -> None:
    seed_session(config, server, "user-1", {"api"})
    server.active["at-seeded"] = {"api"}
    code, _, err = run_cli("logout", "--env", "prod")
    assert code == 0, err
    (revocation,) = [r for r in server.received if r.path == "/oauth/revoke"]
    assert revocation.form["client_id"] == PUBLIC_ID
    assert "authorization" not in revocation.headers
    assert not introspect(server, "at-seeded")


# -- token --scope a --scope b --------------------------------------------------------

def test_token_covers_every_given_scope(config: Path, server: LoopbackIssuer) -> None:
    code, narrow, _ = run_cli("token", "--env", "svc", "--scope", "api")
    assert code == 0
    code, out, err = run_cli("token", "--env", "svc", "--scope", "api", "--scope", "apps:read")
    assert code == 0, err
    assert out != narrow
    assert server.active[out.strip()] >= {"api", "apps:read"}


def test_token_fails_when_a_given_scope_is_not_granted(
    config: Path, server: LoopbackIssuer
) -> None:
    server.declined = {"apps:write"}
    code, out, err = run_cli("token", "--env", "svc", "--scope", "api", "--scope", "apps:write")
    assert (code, out) == (1, "")
    assert "did not grant the required scope(s): apps:write" in " ".join(err.split())


# -- 429 ----------------------------------------------------------------------------

def http_date(seconds_ahead: int) -> str:
    return email.utils.formatdate(time.time() + seconds_ahead, usegmt=True)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(Answer(429, {"error": "temporarily_unavailable"}, {"Retry-After": "30"}),
                     30, id="json-seconds"),
        pytest.param(Answer(429, b"Too Many Requests", {"Content-Type": "text/plain",
                                                        "Retry-After": "7"}), 7, id="text"),
        pytest.param(Answer(429, {"error": "slow_down"}, {"Retry-After": "<in 120 s>"}),
                     120, id="http-date"),
    ],
)
def test_a_429_is_reported_with_its_retry_after(
    config: Path, server: LoopbackIssuer, answer: Answer, expected: int
) -> None:
    if answer.headers["Retry-After"] == "<in 120 s>":
        answer = Answer(429, answer.body, {"Retry-After": http_date(120)})  # from now
    server.overrides["/oauth/token"] = lambda _: answer
    code, _, err = run_cli("token", "--env", "svc")
    assert code == 1
    assert "HTTP 429" in err
    assert f"retry after {expected} s" in err or f"retry after {expected - 1} s" in err
    with pytest.raises(TokenEndpointError) as caught:
        session_from_env("svc", cache=TokenCache()).get_token()
    assert caught.value.status_code == 429
    assert caught.value.retry_after is not None
    assert expected - 2 <= caught.value.retry_after <= expected


def test_logout_when_the_server_cannot_be_asked_says_so_and_still_forgets_locally(
    config: Path, server: LoopbackIssuer
) -> None:
    code, _, _ = run_cli("token", "--env", "svc")
    assert code == 0
    server.overrides["/.well-known/oauth-authorization-server"] = lambda _: Answer(
        404, b"gone", {"Content-Type": "text/plain"})
    code, _, err = run_cli("logout", "--env", "svc")
    assert code == 1
    assert "HTTP 404" in err and "still valid" in err and "Removed 1 token(s)" in err
    assert run_cli("status", "--env", "svc")[0] == 1  # not logged in
