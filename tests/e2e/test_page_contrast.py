"""The pages in real Chromium, light and dark: every text meets WCAG AA contrast, the
consent page shows the client's logo and links, and "Not you?" switches account.

Contrast is measured on computed colours: each element with its own text (and each
field's value and placeholder) against the background it is painted on, blended through
translucent layers; 4.5:1 for normal text, 3:1 for large (24px, or 18.66px bold).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from typer.testing import CliRunner

from scopegate.cli.main import app as cli

pytestmark = pytest.mark.browser

EMAIL, OTHER = "ada@example.org", "bob@example.org"
PASSWORD = "correct horse battery"
REDIRECT = "http://127.0.0.1:5599/callback"
# A 1x1 PNG: the logo a client registered.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9Q"
                       "DwADhgGAWjR9awAAAABJRU5ErkJggg==")

_CONTRAST_JS = """
() => {
  const rgba = (value) => {
    const m = value.match(/rgba?\\(([^)]*)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => top.slice(0, 3).map((c, i) => c * top[3] + below[i] * (1 - top[3]))
    .concat([1]);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    if (!layers.length || layers[layers.length - 1][3] < 1) return null;
    return layers.reverse().reduce((below, top) => over(top, below));
  };
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const out = [];
  const check = (el, style, what) => {
    const bg = background(el);
    const fg = rgba(style.color);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const got = bg && fg ? ratio(over(fg, bg), bg) : 0;
    out.push({what: what.trim().slice(0, 40), color: style.color,
              background: bg ? `rgb(${bg.slice(0, 3).map(Math.round).join(", ")})` : null,
              ratio: Math.round(got * 100) / 100, need});
  };
  for (const el of document.body.querySelectorAll("*")) {
    if (!el.getClientRects().length) continue;
    const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data).join("");
    if (own.trim()) check(el, getComputedStyle(el), own);
    if (el.tagName === "INPUT" && el.type !== "hidden") {
      if (el.value) check(el, getComputedStyle(el), "value of #" + el.id);
      if (el.placeholder) check(el, getComputedStyle(el, "::placeholder"),
                                "placeholder of #" + el.id);
    }
  }
  return out;
}
"""


def _cli(db_url: str, *args: str, stdin: str | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [*args, "--database-url", db_url, "--json"], input=stdin)
    assert result.exit_code == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


class _LogoServer:
    """The client's own web server, holding its logo (http on loopback is allowed)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two users, a server, and a client that registered itself with a logo and links."""
    from interactive_server import running_server

    db_url = f"sqlite:///{tmp_path_factory.mktemp('contrast') / 'scopegate.db'}"
    for email in (EMAIL, OTHER):
        _cli(db_url, "users", "create", "--email", email, "--password-stdin",
             stdin=PASSWORD + "\n")
    device = _cli(db_url, "clients", "create", "--name", "Example TV", "--public",
                  "--grant", "urn:ietf:params:oauth:grant-type:device_code",
                  "--scope", "openid", "--scope", "api")
    logo = _LogoServer()
    with running_server(db_url) as issuer:
        registered = httpx.post(issuer + "/oauth/register", json={
            "client_name": "Acme Notes", "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none", "scope": "openid api",
            "grant_types": ["authorization_code"], "response_types": ["code"],
            "logo_uri": logo.url + "/logo.png", "client_uri": logo.url + "/",
            "policy_uri": "https://acme.example/privacy", "tos_uri": "https://acme.example/tos"})
        assert registered.status_code == 201, registered.text
        yield {"issuer": issuer, "client_id": registered.json()["client_id"],
               "device_client_id": device["client_id"]}
    logo.server.shutdown()


def _authorize_url(world: dict[str, Any]) -> str:
    return world["issuer"] + "/oauth/authorize?" + urlencode({
        "response_type": "code", "client_id": world["client_id"], "redirect_uri": REDIRECT,
        "scope": "openid api", "state": secrets.token_urlsafe(8),
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})


def _sign_in(page: Any, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _pages(world: dict[str, Any], page: Any) -> Iterator[str]:
    """Visit every kind of page; yield its name once it is on screen."""
    issuer = world["issuer"]
    page.goto(issuer + "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#login-error")
    yield "login with an error"
    page.goto(_authorize_url(world))
    _sign_in(page, EMAIL)
    page.wait_for_selector("#client-logo")
    yield "consent"
    page.goto(issuer + "/device")
    page.get_by_label("Code").fill("WRONG-CODE")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("#device-error")
    yield "device code with an error"
    started = httpx.post(issuer + "/oauth/device_authorization",
                         data={"client_id": world["device_client_id"], "scope": "openid api"})
    assert started.status_code == 200, started.text
    page.goto(started.json()["verification_uri_complete"])
    if page.locator("#continue").count():
        page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("#user-code")
    yield "device confirmation"
    page.goto(issuer + "/oauth/authorize?client_id=nobody")
    page.wait_for_selector("#next-step")
    yield "error"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_meets_wcag_aa_in_both_schemes(world: dict[str, Any], chromium: Any,
                                                  scheme: str) -> None:
    context = chromium.new_context(color_scheme=scheme)
    page = context.new_page()
    failures, measured = [], 0
    try:
        for name in _pages(world, page):
            for row in page.evaluate(_CONTRAST_JS):
                measured += 1
                if row["ratio"] < row["need"]:
                    failures.append({"page": name, **row})
    finally:
        context.close()
    assert measured > 40
    assert not failures, f"{scheme}: text below WCAG AA: {failures}"


def test_consent_shows_the_logo_and_not_you_switches_account(world: dict[str, Any],
                                                              chromium: Any) -> None:
    context = chromium.new_context()
    page = context.new_page()
    try:
        url = _authorize_url(world)
        page.goto(url)
        _sign_in(page, EMAIL)
        logo = page.locator("#client-logo")
        assert logo.get_attribute("alt") == "Acme Notes logo"
        assert page.evaluate("document.getElementById('client-logo').naturalWidth") == 1
        box = logo.bounding_box()
        assert box is not None and (box["width"], box["height"]) == (48, 48)
        links = page.locator(".client-links a")
        assert links.all_inner_texts() == ["Home page", "Privacy policy", "Terms of service"]
        assert {links.nth(i).get_attribute("rel") for i in range(3)} == {"noopener noreferrer"}
        assert page.locator("#signed-in-as").inner_text() == EMAIL
        page.get_by_role("button", name="Not you?").click()
        page.wait_for_url(world["issuer"] + "/login?*")
        _sign_in(page, OTHER)
        assert page.url == url  # back at the same authorization request
        assert page.locator("#signed-in-as").inner_text() == OTHER
        assert page.locator("#client-name").inner_text() == "Acme Notes"
    finally:
        context.close()
