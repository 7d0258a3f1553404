"""Seed 001: a configuration is never served a cached token that lacks its configured scopes.

Two configurations of the same client share one token cache (memory, the 0600 file, or
the OS keyring). The narrower one runs first; the wider one must get a token carrying
all of its scopes (checked on the token the real server signed), while the narrower one
may keep using its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import keyring
import pytest
from _servers import API_AUDIENCE, Stack
from keyring.backend import KeyringBackend

from scopegate.client import session_from_env
from scopegate.client._cache import TokenCache
from scopegate.client._stores import PersistentTokenStore


def _granted(stack: Stack, access_token: str) -> set[str]:
    key = jwt.PyJWKClient(stack.metadata["jwks_uri"]).get_signing_key_from_jwt(access_token)
    claims: dict[str, Any] = jwt.decode(access_token, key.key, algorithms=["ES256", "EdDSA"],
                                        audience=API_AUDIENCE, issuer=stack.issuer)
    return set(claims["scope"].split())


class DictKeyring(KeyringBackend):
    """An OS keyring that keeps its secrets in a dict (no desktop keyring in CI)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def os_keyring() -> Iterator[DictKeyring]:
    backend, previous = DictKeyring(), keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_a_wider_configuration_is_not_served_the_narrower_cached_token(
    stack: Stack, config: Path
) -> None:
    """The seed's bug, as a user hits it: one process, the default shared cache."""
    narrow = session_from_env("svc", scopes=["api"], config=config, interactive=False)
    first = narrow.get_token()
    assert _granted(stack, first.access_token) == {"api"}
    wide = session_from_env("svc", scopes=["api", "apps:read"], config=config,
                            interactive=False)
    second = wide.get_token()
    assert second.access_token != first.access_token
    assert _granted(stack, second.access_token) == {"api", "apps:read"}
    # Each configuration keeps being served its own token, without a new request.
    assert narrow.get_token().access_token == first.access_token
    assert wide.get_token().access_token == second.access_token


@pytest.mark.parametrize("store", ["file", "keyring"])
def test_the_persistent_stores_keep_the_promise_across_processes(
    stack: Stack, config: Path, store: str, os_keyring: DictKeyring
) -> None:
    """A later process (a fresh cache over the same file or keyring entry) is checked too."""
    def new_process_cache() -> TokenCache:
        return TokenCache(PersistentTokenStore(config / "tokens.json",
                                               use_keyring=store == "keyring"))

    first = session_from_env("svc", scopes=["api"], config=config, interactive=False,
                             cache=new_process_cache()).get_token()
    assert (config / "tokens.json").exists() == (store == "file")
    assert bool(os_keyring.secrets) == (store == "keyring")
    wide = session_from_env("svc-readonly", config=config, interactive=False,
                            cache=new_process_cache())  # environments.json: api apps:read
    second = wide.get_token()
    assert second.access_token != first.access_token
    assert _granted(stack, second.access_token) == {"api", "apps:read"}
