"""Legacy aliases and implication between the SDK and the real server, end to end.

The server stores and issues canonical names (``all`` becomes ``scopegate:all``) and
knows that ``apps:run`` implies ``apps:read``. The SDK learns the same from the catalog
the server advertises in its metadata, so a legacy requirement is satisfied by the
canonical grant and an implied scope never costs another token request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import jwt
import pytest
from _servers import API_AUDIENCE, READ_PATH, RUN_PATH, Stack, _admin, build_stack

from scopegate.client import (
    ApiClient,
    ClientCredentialsProvider,
    ScopegateAuth,
    TokenSession,
    required_scopes_extension,
)
from scopegate.client._cache import TokenCache
from scopegate.client._discovery import SCOPE_CATALOG_METADATA


@dataclass
class AliasStack:
    """A running stack plus a service client registered with the legacy name ``all``."""

    stack: Stack
    legacy_id: str
    legacy_secret: str


@pytest.fixture(scope="module")
def aliases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AliasStack]:
    workdir = tmp_path_factory.mktemp("e2e-aliases")
    with build_stack(workdir, []) as stack:
        # As an operator of an older deployment would type it: the legacy alias.
        made = _admin(f"sqlite:///{workdir / 'scopegate.db'}", "clients", "create",
                      "--name", "legacy report", "--scope", "all", "--scope", "api")
        yield AliasStack(stack, made["client_id"], made["client_secret"])


class TokenRequests:
    """Counts what the SDK sends, through an httpx event hook."""

    def __init__(self, stack: Stack) -> None:
        self.token_path = httpx.URL(stack.metadata["token_endpoint"]).path
        self.sent: list[str] = []

    def __call__(self, request: httpx.Request) -> None:
        self.sent.append(f"{request.method} {request.url.path}")

    @property
    def token_posts(self) -> int:
        return self.sent.count(f"POST {self.token_path}")


def _verified_scopes(stack: Stack, access_token: str) -> set[str]:
    key = jwt.PyJWKClient(stack.metadata["jwks_uri"]).get_signing_key_from_jwt(access_token)
    claims = jwt.decode(access_token, key.key, algorithms=["ES256", "EdDSA"],
                        audience=API_AUDIENCE, issuer=stack.issuer)
    return set(claims["scope"].split())


def test_the_server_advertises_its_catalog(aliases: AliasStack) -> None:
    stack = aliases.stack
    assert stack.metadata[SCOPE_CATALOG_METADATA] == stack.issuer + "/api/v1/scopes"


def test_a_legacy_required_scope_is_satisfied_by_the_canonical_grant(
    aliases: AliasStack,
) -> None:
    stack = aliases.stack
    provider = ClientCredentialsProvider(stack.issuer, aliases.legacy_id,
                                         aliases.legacy_secret, scopes=["api"])
    session = TokenSession(provider, cache=TokenCache(), required_scopes=["all"],
                           interactive=False)
    seen = TokenRequests(stack)
    with ApiClient(session, base_url=stack.api_url,
                   event_hooks={"request": [seen]}) as api:
        # The token is fetched for `all` here; ScopeNotGranted("all") would be raised.
        assert api.post(RUN_PATH, json={}).status_code == 200
        # What scopegate:all implies needs no new token, at the API or in the cache.
        needs = required_scopes_extension("apps:run", "all", "scopegate:all")
        assert api.get(READ_PATH, extensions=needs).status_code == 200
    token = session.get_token()  # a cache hit: no HTTP client is even needed
    assert "scopegate:all" in _verified_scopes(stack, token.access_token)
    assert "all" not in token.scopes  # the server issued the canonical name
    assert seen.token_posts == 1
    assert seen.sent.count("GET /api/v1/scopes") == 1


def test_a_run_token_serves_a_read_requirement_without_a_token_request(
    aliases: AliasStack,
) -> None:
    stack = aliases.stack
    provider = ClientCredentialsProvider(stack.issuer, stack.service_client_id,
                                         stack.service_client_secret, scopes=["api", "apps:run"])
    session = TokenSession(provider, cache=TokenCache(), interactive=False)
    seen = TokenRequests(stack)
    with httpx.Client(auth=ScopegateAuth(session), event_hooks={"request": [seen]}) as http:
        ran = http.post(stack.api_url + RUN_PATH, json={})
        assert ran.status_code == 200
        read = http.get(stack.api_url + READ_PATH,
                        extensions=required_scopes_extension("apps:read"))
        assert read.status_code == 200
    granted = _verified_scopes(stack, session.get_token(["apps:read"]).access_token)
    assert granted == {"api", "apps:run"}  # apps:read was never issued, only implied
    assert seen.token_posts == 1

