"""Swagger UI's Authorize button, end to end in real headless Chromium.

The example API (uvicorn) serves /docs with Swagger UI's files from the ``fastapi-offline``
package (no CDN); a public client is registered with ``<API>/docs/oauth2-redirect``. A
person clicks Authorize, picks a scope, signs in on scopegate's login page, consents, and
Swagger UI exchanges the code (PKCE, a cross-origin POST the server's CORS allows). Then
"Try it out": a route within the picked scope answers 200, one outside it 403 with the
challenge the OpenAPI document promises.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from scopegate.cli._local_stack import free_port, start_auth_server, start_example_api
from scopegate.cli.main import app as cli

pytestmark = pytest.mark.browser
pytest.importorskip("fastapi_offline", reason="fastapi-offline (test extra) serves /docs")

EMAIL = "ada@example.org"
PASSWORD = "ada correct horse battery"
RUN = "/workspaces/{workspace}/apps/{app_id}/run"


def _admin(db_url: str, *args: str, stdin: str | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [*args, "--database-url", db_url, "--json"], input=stdin)
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server and the example API, with Swagger UI's client registered as an operator would."""
    workdir = tmp_path_factory.mktemp("swagger")
    db_url = f"sqlite:///{workdir / 'scopegate.db'}"
    _admin(db_url, "users", "create", "--email", EMAIL, "--password-stdin", "--name", "Ada",
           stdin=PASSWORD + "\n")
    port = free_port()  # the redirect URI names the API's origin before it starts
    client = _admin(db_url, "clients", "create", "--name", "Swagger UI", "--public",
                    "--grant", "authorization_code", "--redirect-uri",
                    f"http://127.0.0.1:{port}/docs/oauth2-redirect",
                    "--scope", "api", "--scope", "apps:read", "--scope", "apps:run")
    auth = start_auth_server(db_url, workdir)
    try:
        api = start_example_api(auth.url, workdir, port=port, extra_env={
            "SCOPEGATE_EXAMPLE_SWAGGER_CLIENT_ID": client["client_id"]})
        try:
            yield api.url
        finally:
            api.stop()
    finally:
        auth.stop()


def _authorize(page: Any, scopes: list[str]) -> None:
    """Open the Authorize dialog, tick ``scopes``, sign in and consent in the popup."""
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".auth-container").filter(has_text="authorizationCode")
    for scope in scopes:
        dialog.locator(f"label[for*='{scope}']").first.click()
    with page.context.expect_page() as opened:
        dialog.locator("button.modal-btn.authorize").click()
    popup = opened.value
    popup.wait_for_load_state()
    popup.get_by_label("Email").fill(EMAIL)
    popup.get_by_label("Password").fill(PASSWORD)
    popup.get_by_role("button", name="Sign in").click()
    popup.wait_for_load_state()
    consented = popup.locator("ul.scopes li").all_inner_texts()
    popup.get_by_role("button", name="Allow").click()
    popup.wait_for_event("close")
    assert consented, "the consent page lists what Swagger UI asked for"
    try:
        dialog.get_by_text("Authorized", exact=True).wait_for(timeout=10000)
    except Exception:
        raise AssertionError(dialog.inner_text()[-600:]) from None
    page.get_by_role("button", name="Close").first.click()


def _try_it(page: Any, operation_id: str) -> tuple[int, str, dict[str, str]]:
    """Expand an operation, "Try it out", Execute; return the status, body and headers."""
    block = page.locator(f"#operations-default-{operation_id}")
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    for field, value in (("workspace", "demo"), ("app_id", "hello")):
        box = block.locator(f"tr[data-param-name='{field}'] input")
        if box.count():
            box.fill(value)
    with page.expect_response(lambda r: "/workspaces/" in r.url) as answered:
        block.get_by_role("button", name="Execute").click()
    response = answered.value
    return response.status, response.text(), response.headers


def test_authorize_then_try_it_out(api_url: str, new_page: Any) -> None:
    page = new_page()
    page.goto(api_url + "/docs")
    page.get_by_role("button", name="Authorize").first.wait_for()
    _authorize(page, ["api", "apps:read"])
    status, body, _ = _try_it(page, "list_apps_workspaces__workspace__apps_get")
    assert status == 200, body
    assert [app["id"] for app in json.loads(body)["apps"]] == ["hello", "report", "frozen"]
    status, body, headers = _try_it(page, "run_app_workspaces__workspace__apps__app_id__run_post")
    assert status == 403, body
    assert json.loads(body)["error"] == "insufficient_scope"
    challenge = headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="apps:run"' in challenge
    documented = httpx.get(api_url + "/openapi.json").json()["paths"][RUN]["post"]["responses"]
    assert {"401", "403"} <= set(documented)  # the answer seen is the one Swagger UI lists
    assert page.locator(".live-responses-table .response-col_status").last.inner_text() == "403"


def test_docs_need_no_cdn(api_url: str, new_page: Any) -> None:
    page = new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(api_url) else None)
    page.goto(api_url + "/docs")
    page.get_by_role("button", name="Authorize").first.wait_for()
    assert outside == []
