"""The console answers operators only, checks every form, and refuses bad input whole."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.admin.keys import NewKey, key_store, plan_key, store_key
from scopegate.server.admin.users import create_user
from scopegate.server.crypto.passwords import hash_password
from scopegate.server.state import ServerState
from scopegate.store.models.base import utcnow
from scopegate.store.repositories.clients import ClientRepository
from scopegate.store.repositories.usage import AudienceModes, UsageRepository, UsageRow

from .grants.flow import PASSWORD, hidden, login, make_user, open_browser

API = "https://api.scopegate.example"  # the catalog's own API audience


@pytest.fixture
def visitor(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


@pytest.fixture
def operator(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    for browser in open_browser(app, state):
        user = create_user(state.db, email=f"op{uuid.uuid4().hex[:8]}@example.org",
                           password_hash=hash_password(PASSWORD), role="member",
                           operator=True)
        assert login(browser, user.email, next_path="/admin").status_code == 303
        yield browser


def test_a_visitor_is_sent_to_sign_in_and_a_member_is_refused(
        visitor: TestClient, state: ServerState) -> None:
    first = visitor.get("/admin/rollout", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/admin/rollout"
    member = make_user(state)
    assert login(visitor, member.email, next_path="/admin").status_code == 303
    refused = visitor.get("/admin")
    assert refused.status_code == 403 and "Operators only" in refused.text
    page = visitor.get("/login")  # a member's valid CSRF token still does not switch modes
    switch = visitor.post("/admin/rollout/mode", data={
        "csrf": hidden(page.text, "csrf"), "resource": API, "mode": "enforce"})
    assert switch.status_code == 403
    assert AudienceModes(state.db).get(API) is None


def test_an_operator_switches_a_mode_and_a_forged_form_changes_nothing(
        operator: TestClient, state: ServerState) -> None:
    page = operator.get("/admin/rollout", params={"resource": API})
    assert page.status_code == 200 and 'id="verdict"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    forged = operator.post("/admin/rollout/mode", data={
        "csrf": "forged", "resource": API, "mode": "enforce"})
    assert forged.status_code == 403 and AudienceModes(state.db).get(API) is None
    csrf = hidden(page.text, "csrf")
    done = operator.post("/admin/rollout/mode", data={"csrf": csrf, "resource": API,
                                                      "mode": "warn"}, follow_redirects=True)
    assert done.status_code == 200 and "Switched to warn" in done.text
    assert AudienceModes(state.db).get(API) == "warn"
    bad = operator.post("/admin/rollout/mode", data={"csrf": csrf, "resource": API,
                                                     "mode": "strict"})
    assert bad.status_code == 400 and "off, warn, enforce" in bad.text
    unknown = operator.get("/admin/rollout", params={"resource": "https://nope.example"})
    assert unknown.status_code == 404
    assert AudienceModes(state.db).get(API) == "warn"


def test_the_rollout_page_shows_both_sdk_versions_and_the_verdict(
        operator: TestClient, state: ServerState) -> None:
    resource = f"https://{uuid.uuid4().hex[:8]}.api.example"
    UsageRepository(state.db).add(resource, [
        UsageRow("sgc_old", "", "acme-sdk", "1.0.0", False, "apps:read", 4),
        UsageRow("sgc_new", "", "acme-sdk", "2.0.0", True, "apps:read", 9)], utcnow())
    page = operator.get("/admin/rollout", params={"resource": resource})
    assert "Not ready: 4 request(s) without the audience" in page.text
    assert "1.0.0" in page.text and "2.0.0" in page.text
    assert page.text.count('class="bar"') == 1


def test_a_key_is_narrowed_to_what_it_used(operator: TestClient, state: ServerState) -> None:
    owner = make_user(state)
    store = key_store(state.db, state.settings.api_key_prefix)
    plan = plan_key(state.catalog, NewKey(name="ci", scopes=["apps:read", "apps:run"]),
                    datetime.now().astimezone())
    record, _ = store_key(store, state.catalog, plan, owner.id)
    UsageRepository(state.db).add(API, [UsageRow("sgc_x", record.id, "curl", "8", True,
                                                 "apps:read", 2)], utcnow())
    page = operator.get("/admin/least-privilege")
    row = page.text[page.text.index(f'id="key-{record.id}"'):]
    row = row[:row.index("</tr>")]
    assert 'class="unused" title="never used">apps:run' in row
    narrowed = operator.post("/admin/least-privilege/narrow", data={
        "csrf": hidden(page.text, "csrf"), "kind": "key", "id": record.id,
        "keep": "apps:read"})
    assert narrowed.status_code == 200 and 'id="new-key"' in narrowed.text
    keys = {k.id: k for k in state.api_keys.list(user_id=owner.id)}
    assert len(keys) == 2 and keys[record.id].expires_at is not None
    new = next(k for k in keys.values() if k.id != record.id)
    assert new.scopes == ("apps:read",)
    wider = operator.post("/admin/least-privilege/narrow", data={
        "csrf": hidden(page.text, "csrf"), "kind": "key", "id": new.id,
        "keep": "apps:read apps:write"})
    assert wider.status_code == 400 and "cannot add scopes" in wider.text


def test_clients_are_created_rotated_and_deleted_from_the_overview(
        operator: TestClient, state: ServerState, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="scopegate.audit")
    page = operator.get("/admin")
    csrf = hidden(page.text, "csrf")
    made = operator.post("/admin/create-client", data={"csrf": csrf, "name": "nightly",
                                                       "scopes": "apps:read"})
    assert made.status_code == 200, made.text
    client_id = made.text.split('id="secret">')[1].split(":")[0]
    assert ClientRepository(state.db).get(client_id) is not None
    rotated = operator.post("/admin/rotate-client", data={"csrf": csrf, "client_id": client_id})
    assert "shown once" in rotated.text
    gone = operator.post("/admin/delete-client", data={"csrf": csrf, "client_id": client_id})
    assert gone.status_code == 200 and ClientRepository(state.db).get(client_id) is None
    again = operator.post("/admin/delete-client", data={"csrf": csrf, "client_id": client_id})
    assert again.status_code == 400 and "no client" in again.text
    bad = operator.post("/admin/create-client", data={"csrf": csrf, "name": "x",
                                                      "scopes": "nonsense:scope"})
    assert bad.status_code == 400
    events = [r.msg for r in caplog.records if r.name == "scopegate.audit"]
    assert events == ["client.created", "client.secret_rotated", "client.deleted"]
    assert all(getattr(r, "actor", "").startswith("usr_") for r in caplog.records
               if r.name == "scopegate.audit")


def test_a_resource_is_registered_from_the_overview(operator: TestClient) -> None:
    csrf = hidden(operator.get("/admin").text, "csrf")
    resource = f"https://{uuid.uuid4().hex[:8]}.registered.example"
    made = operator.post("/admin/add-resource", data={
        "csrf": csrf, "identifier": resource, "scopes": "apps:read"})
    assert made.status_code == 200 and f"Resource {resource} registered" in made.text
    again = operator.post("/admin/add-resource", data={
        "csrf": csrf, "identifier": resource, "scopes": "apps:read"})
    assert again.status_code == 400 and "registered already" in again.text
    assert operator.get("/admin/rollout", params={"resource": resource}).status_code == 200
