"""ApiClient / AsyncApiClient from environments.json, and one refresh across processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import keyring
import pytest
from keyring.backend import KeyringBackend

from scopegate.client import (
    ApiClient,
    AsyncApiClient,
    ScopegateAuth,
    ScopegateRequestsAuth,
    aget_token,
    get_token,
    use_session,
)
from scopegate.client._cache import TokenCache
from scopegate.client._stores import PersistentTokenStore

from .conftest import API, ISSUER, FakeIssuer


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "1")
    envs = {"svc": {"issuer": ISSUER, "api_base_url": API, "credentials": "creds.json",
                    "scopes": ["api", "apps:read"]}}
    (tmp_path / "environments.json").write_text(json.dumps({"environments": envs}))
    (tmp_path / "creds.json").write_text(json.dumps({"clientId": "svc", "clientSecret": "s"}))
    return tmp_path


def test_api_client_from_env_uses_base_url_scopes_and_required_scopes(config: Path) -> None:
    fake = FakeIssuer()
    client = ApiClient.from_env("svc", config=config, required_scopes=["keys:read"],
                                transport=httpx.MockTransport(fake))
    with client:
        assert client.get("/things").status_code == 200
        assert client.get("/things").status_code == 200
    assert fake.requested == ["api apps:read keys:read"]
    assert client.session.scope_choice.source == "environment"


def test_async_api_client_from_env_with_explicit_scopes(config: Path) -> None:
    fake = FakeIssuer()

    async def run() -> int:
        client = AsyncApiClient.from_env("svc", config=config, scopes=["apps:read"],
                                         transport=httpx.MockTransport(fake))
        async with client:
            return (await client.get("/things")).status_code

    assert asyncio.run(run()) == 200
    assert fake.requested == ["apps:read"]


def test_both_auth_classes_build_from_env_like_the_clients(config: Path) -> None:
    fake = FakeIssuer()
    auth = ScopegateAuth.from_env("svc", config=config, required_scopes=["keys:read"])
    with httpx.Client(transport=httpx.MockTransport(fake), auth=auth) as client:
        assert client.get(f"{API}/things").status_code == 200
    assert fake.requested == ["api apps:read keys:read"]
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        plain = ScopegateRequestsAuth.from_env("svc", config=config, scopes=["apps:read"],
                                               http=http)
        assert plain.http is http and plain.session.scopes == {"apps:read"}
        assert plain._token(frozenset({"apps:read"})).scopes == {"apps:read"}
    assert fake.requested[-1] == "apps:read"


def test_get_token_in_one_call_from_the_environment_or_the_bound_session(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(config))
    fake = FakeIssuer()
    with httpx.Client(transport=httpx.MockTransport(fake)) as http:
        token = get_token("keys:read", env="svc", http=http)
    assert {"api", "apps:read", "keys:read"} <= token.scopes
    assert fake.requested == ["api apps:read keys:read"]

    async def bound() -> set[str]:
        session = ApiClient.from_env("svc", config=config).session
        previous = use_session(session)
        try:
            async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
                return set((await aget_token("apps:read", http=http)).scopes)
        finally:
            use_session(None)
            del previous

    assert asyncio.run(bound()) == {"api", "apps:read"}
    # The bound session's own scopes: a wider token of the same client is never reused.
    assert fake.requested == ["api apps:read keys:read", "api apps:read"]


class CountingKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}
        self.reads = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.reads += 1
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.data.pop((service, username), None)


def test_keyring_store_is_used_and_not_read_on_hits(tmp_path: Path) -> None:
    backend = CountingKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        from scopegate.client import ClientCredentialsProvider, ScopegateAuth, TokenSession

        cache = TokenCache(PersistentTokenStore(tmp_path / "tokens.json"))
        session = TokenSession(ClientCredentialsProvider(ISSUER, "svc", "s"), cache=cache)
        fake = FakeIssuer()
        with httpx.Client(transport=httpx.MockTransport(fake),
                          auth=ScopegateAuth(session)) as client:
            client.get(API + "/a")
            reads = backend.reads
            for _ in range(10):
                client.get(API + "/a")
        assert backend.reads == reads
        assert ("scopegate", "token-cache") in backend.data
        assert not (tmp_path / "tokens.json").exists()  # no silent file copy
    finally:
        keyring.set_keyring(previous)


WORKER = textwrap.dedent("""
    import sys, time, httpx
    sys.path.insert(0, sys.argv[3])
    from client.conftest import FakeIssuer
    from scopegate.client import session_from_env

    fake = FakeIssuer()
    def handler(request):
        if request.url.path == "/oauth/token":
            with open(sys.argv[2], "a") as hits:
                hits.write("hit\\n")
            time.sleep(1.0)
        return fake(request)

    session = session_from_env("svc", config=sys.argv[1])
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        print(session.get_token(http=http).access_token[-12:])
""")


def test_one_token_request_across_processes(config: Path, tmp_path: Path) -> None:
    hits = tmp_path / "hits.txt"
    tests_dir = str(Path(__file__).resolve().parents[1])
    env = {"SCOPEGATE_NO_KEYRING": "1", "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(config), str(hits), tests_dir],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(3)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert hits.read_text().count("hit") == 1
    assert len({out for out, _ in outputs}) == 1  # all three use the same token
