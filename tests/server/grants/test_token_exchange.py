"""RFC 8693 token exchange: an API trades the user's token it received for a narrower token
for a downstream API; the new token keeps the user, names the API in ``act``, never
outlives the subject token, and every unacceptable request gets its RFC error."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.admin.client_spec import client_spec
from scopegate.server.admin.errors import Invalid
from scopegate.server.admin.resources import add_resource, resource_spec
from scopegate.server.admin.sessions import end_sessions
from scopegate.server.admin.users import set_disabled
from scopegate.server.state import ServerState
from scopegate.store.repositories.users import UserRecord
from scopegate.tokens import access_token_claims

from ..conftest import ISSUER, ClientFactory
from .flow import PASSWORD, exchange, get_code, login, make_user, open_browser
from .flow import make_client as make_user_client

API = "https://api.scopegate.example"
REPORTS = "https://reports.scopegate.example"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
FRONT_SCOPES = ("api", "apps:read", "apps:run", "workspace:read")


@pytest.fixture(scope="module")
def reports(state: ServerState) -> str:
    """The downstream API, registered as an operator would."""
    spec = resource_spec(state.catalog, identifier=REPORTS,
                         scopes=["apps:read", "workspace:read"], name="reports")
    add_resource(state.db, spec, state.resources.static)
    state.resources.invalidate()
    return REPORTS


@pytest.fixture(scope="module")
def front(make_client: ClientFactory, reports: str) -> tuple[str, str]:
    """The API that receives the user's token and exchanges it (its resource server)."""
    return make_client(scopes=FRONT_SCOPES, grants=(EXCHANGE,), resource_servers=(API,))


@pytest.fixture
def browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    yield from open_browser(app, state)


class Person:
    """A signed-in user and the app (public client) they use."""

    def __init__(self, browser: TestClient, state: ServerState) -> None:
        self.browser, self.state = browser, state
        self.user: UserRecord = make_user(state)
        assert login(browser, self.user.email, PASSWORD).status_code == 303
        self.app_id, _ = make_user_client(state)

    def token(self, scope: str = "api apps:read apps:run") -> str:
        code, verifier, _ = get_code(self.browser, self.app_id, scope=scope, resource=API)
        answer = exchange(self.browser, self.app_id, code, verifier)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])


@pytest.fixture
def person(browser: TestClient, state: ServerState) -> Person:
    return Person(browser, state)


def trade(http: TestClient, client: tuple[str, str], subject_token: str,
          **form: str) -> Any:
    data = {"grant_type": EXCHANGE, "subject_token": subject_token,
            "subject_token_type": ACCESS, "resource": REPORTS, **form}
    return http.post("/oauth/token", data={k: v for k, v in data.items() if v != "-"},
                     auth=client)


def claims_of(http: TestClient, token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(http.get("/jwks.json").json())
    return dict(jwt.decode(token, keys).claims)


def refused(answer: Any, error: str, words: str) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error, answer.json()
    assert words in answer.json()["error_description"], answer.json()


# -- what is issued ------------------------------------------------------------------------

def test_the_exchanged_token_keeps_the_user_names_the_actor_and_narrows(
        http: TestClient, front: tuple[str, str], person: Person,
        caplog: pytest.LogCaptureFixture) -> None:
    subject = person.token()
    with caplog.at_level(logging.INFO, logger="scopegate.audit"):
        answer = trade(http, front, subject, scope="apps:read")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["issued_token_type"] == ACCESS and body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    claims, before = claims_of(http, body["access_token"]), claims_of(http, subject)
    assert claims["sub"] == person.user.id and claims["subject_type"] == "user"
    assert claims["aud"] == REPORTS and claims["scope"] == "apps:read"
    assert claims["act"] == {"sub": front[0]} and claims["client_id"] == front[0]
    assert claims["exp"] <= before["exp"]
    seen = http.post("/oauth/introspect", data={"token": body["access_token"]},
                     auth=front).json()  # the token's own client may introspect it
    assert seen["active"] and seen["act"] == {"sub": front[0]}
    event = next(r for r in caplog.records if getattr(r, "event", "") == "token.exchange")
    assert (event.subject, event.actor, event.target, event.scopes) == (  # type: ignore[attr-defined]
        person.user.id, front[0], REPORTS, ["apps:read"])


def test_without_scope_it_gets_what_the_subject_the_client_and_the_target_share(
        http: TestClient, front: tuple[str, str], person: Person) -> None:
    # the user's token has api apps:read apps:run; reports offers apps:read workspace:read
    answer = trade(http, front, person.token(), audience=REPORTS, resource="-")
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "apps:read"


def test_an_exchanged_token_exchanged_again_nests_the_actors(
        http: TestClient, front: tuple[str, str], make_client: ClientFactory,
        person: Person) -> None:
    first = trade(http, front, person.token(), scope="apps:read").json()["access_token"]
    reports_api = make_client(scopes=FRONT_SCOPES, grants=(EXCHANGE,),
                              resource_servers=(REPORTS,))
    answer = trade(http, reports_api, first, resource=API, scope="apps:read")
    assert answer.status_code == 200, answer.text
    claims = claims_of(http, answer.json()["access_token"])
    assert claims["act"] == {"sub": reports_api[0], "act": {"sub": front[0]}}
    assert claims["sub"] == person.user.id and claims["aud"] == API


def test_the_token_never_outlives_the_subject_token(
        http: TestClient, front: tuple[str, str], state: ServerState, person: Person) -> None:
    short = _minted(state, person, ttl=20)
    answer = trade(http, front, short, scope="apps:read")
    assert answer.status_code == 200, answer.text
    assert answer.json()["expires_in"] <= 20
    assert claims_of(http, answer.json()["access_token"])["exp"] <= claims_of(http, short)["exp"]


def _minted(state: ServerState, person: Person, ttl: int) -> str:
    """A user token of ``ttl`` seconds, signed by the server (as a short-lived grant would)."""
    import asyncio

    from scopegate.store.repositories import ClientRepository

    record = ClientRepository(state.db).get(person.app_id)
    assert record is not None
    body = asyncio.run(state.issuer.issue(
        client=record, subject=person.user.id, subject_type="user",
        scopes=frozenset({"api", "apps:read"}), audience=(API,), grant_type="test", ttl=ttl))
    return str(body["access_token"])


def test_metadata_lists_the_grant(http: TestClient) -> None:
    doc = http.get("/.well-known/oauth-authorization-server").json()
    assert EXCHANGE in doc["grant_types_supported"]


# -- refusals ----------------------------------------------------------------------------

@pytest.mark.parametrize(("form", "error", "words"), [
    ({"scope": "apps:read apps:write"}, "invalid_scope", "more than the subject token"),
    ({"scope": "apps:run"}, "invalid_scope", "not offered by"),
    ({"resource": "https://unknown.example/api"}, "invalid_target", "is registered here"),
    ({"audience": API}, "invalid_target", "one downstream API"),
    ({"resource": "-"}, "invalid_request", "name the downstream API"),
    ({"subject_token_type": "-"}, "invalid_request", "subject_token_type is required"),
    ({"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"}, "invalid_request",
     "is not supported"),
    ({"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
     "invalid_request", "only urn:ietf:params:oauth:token-type:access_token"),
    ({"actor_token": "x", "actor_token_type": ACCESS}, "invalid_request",
     "actor_token is not supported"),
])
def test_bad_requests_are_refused_with_their_rfc_error(
        http: TestClient, front: tuple[str, str], person: Person, form: dict[str, str],
        error: str, words: str) -> None:
    refused(trade(http, front, person.token(), **form), error, words)


def test_a_revoked_subject_token_cannot_be_exchanged(
        http: TestClient, front: tuple[str, str], person: Person) -> None:
    subject = person.token()
    revoked = http.post("/oauth/revoke", data={"token": subject, "client_id": person.app_id})
    assert revoked.status_code == 200
    refused(trade(http, front, subject), "invalid_request", "revoked")


def test_an_expired_subject_token_cannot_be_exchanged(
        http: TestClient, front: tuple[str, str], state: ServerState, person: Person) -> None:
    subject = _minted(state, person, ttl=1)
    time.sleep(1.2)
    refused(trade(http, front, subject), "invalid_request", "expired")


def test_a_token_from_another_issuer_cannot_be_exchanged(
        http: TestClient, front: tuple[str, str], person: Person) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "foreign"})
    now = int(time.time())
    claims = {"iss": "https://evil.example", "sub": person.user.id, "aud": API,
              "client_id": "x", "jti": "j", "iat": now, "exp": now + 300, "scope": "apps:read"}
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "foreign"}, claims, key)
    refused(trade(http, front, forged), "invalid_request", "not a valid access token")


def test_the_users_cut_off_reaches_tokens_issued_before_it(
        http: TestClient, front: tuple[str, str], state: ServerState, person: Person) -> None:
    subject = person.token()
    time.sleep(1.1)  # the cut-off is "issued before now", at one-second iat resolution
    end_sessions(state.db, person.user)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        answer = trade(http, front, subject)
        if answer.status_code != 200:
            break
        time.sleep(0.05)
    refused(answer, "invalid_request", "revoked after it was issued")


def test_a_disabled_users_token_cannot_be_exchanged(
        http: TestClient, front: tuple[str, str], state: ServerState, person: Person) -> None:
    subject = person.token()
    set_disabled(state.db, person.user, True)
    refused(trade(http, front, subject), "invalid_request", "disabled")


def test_only_the_api_the_token_was_issued_for_may_exchange_it(
        http: TestClient, make_client: ClientFactory, person: Person, reports: str) -> None:
    other = make_client(scopes=FRONT_SCOPES, grants=(EXCHANGE,), resource_servers=(REPORTS,))
    refused(trade(http, other, person.token()), "invalid_request", "not issued for an API")


def test_a_client_without_the_grant_is_unauthorized(
        http: TestClient, make_client: ClientFactory, person: Person, reports: str) -> None:
    plain = make_client(scopes=FRONT_SCOPES, resource_servers=(API,))
    # registered with client_credentials only: the grant is off until given
    refused(trade(http, plain, person.token()), "unauthorized_client", "may not use")


def test_a_refresh_token_is_not_a_subject_token(
        http: TestClient, front: tuple[str, str], browser: TestClient,
        state: ServerState) -> None:
    user = make_user(state)
    assert login(browser, user.email).status_code == 303
    app_id, _ = make_user_client(state)
    code, verifier, _ = get_code(browser, app_id, scope="api offline_access", resource=API)
    refresh_token = exchange(browser, app_id, code, verifier).json()["refresh_token"]
    refused(trade(http, front, refresh_token), "invalid_request", "")


def test_registering_the_grant_needs_a_confidential_resource_server(
        state: ServerState) -> None:
    with pytest.raises(Invalid, match="needs --resource-server"):
        client_spec(state.catalog, name="front", grants=["token-exchange"], scopes=["api"])
    with pytest.raises(Invalid, match="public client cannot use token exchange"):
        client_spec(state.catalog, name="front", grants=["token-exchange"], scopes=["api"],
                    public=True, resource_servers=[API])
    spec = client_spec(state.catalog, name="front", grants=["token-exchange"],
                       scopes=["api"], resource_servers=[API])
    assert spec.grant_types == (EXCHANGE,)


def test_an_api_key_can_be_exchanged_and_its_revocation_stops_that(
        http: TestClient, front: tuple[str, str], state: ServerState, person: Person) -> None:
    claims = access_token_claims(issuer=ISSUER, subject=person.user.id, subject_type="user",
                                 client_id="cli", audience=(ISSUER + "/api/v1/",),
                                 scopes=["keys:write", "apps:read"], ttl=300)
    manage = {"Authorization": "Bearer " + state.signing_keys.signer.sign(claims, typ="at+jwt")}
    made = http.post("/api/v1/keys", json={"name": "ci", "scopes": ["apps:read"]},
                     headers=manage)
    assert made.status_code == 201, made.text
    answer = trade(http, front, made.json()["key"], scope="apps:read")
    assert answer.status_code == 200, answer.text
    exchanged = claims_of(http, answer.json()["access_token"])
    assert exchanged["sub"] == person.user.id and exchanged["act"] == {"sub": front[0]}
    assert http.delete(f"/api/v1/keys/{made.json()['id']}", headers=manage).status_code == 204
    refused(trade(http, front, made.json()["key"]), "invalid_request", "revoked")
