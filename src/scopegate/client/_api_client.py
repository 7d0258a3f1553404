"""Ready-made API clients and the one place that turns configuration into a session."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from ._auth import ScopegateAuth
from ._cache import TokenCache
from ._config import (
    CREDENTIALS_FILE,
    ENVIRONMENTS_FILE,
    Credentials,
    Environment,
    ScopeChoice,
    config_dir,
    load_credentials,
    load_environment,
    resolve_scopes,
)
from ._exceptions import ConfigError
from ._https import env_flag
from ._locks import LockRegistry
from ._providers import (
    AuthorizationCodePkceProvider,
    ClientCredentialsProvider,
    DeviceCodeProvider,
    TokenProvider,
)
from ._session import TokenSession
from ._stores import PersistentTokenStore

__all__ = [
    "NO_KEYRING_ENV",
    "TOKENS_FILE",
    "ApiClient",
    "AsyncApiClient",
    "EnvSession",
    "session_from_env",
    "shared_cache",
]

TOKENS_FILE = "tokens.json"
NO_KEYRING_ENV = "SCOPEGATE_NO_KEYRING"

_caches: dict[Path, TokenCache] = {}
_caches_guard = threading.Lock()


def shared_cache(directory: Path, *, use_keyring: bool | None = None) -> TokenCache:
    """Return the process-wide token cache of a config directory (one memory layer per dir)."""
    if use_keyring is None:
        use_keyring = not env_flag(NO_KEYRING_ENV)
    key = directory.resolve()
    with _caches_guard:
        cache = _caches.get(key)
        if cache is None:
            store = PersistentTokenStore(directory / TOKENS_FILE, use_keyring=use_keyring)
            cache = _caches[key] = TokenCache(store)
        return cache


class EnvSession(TokenSession):
    """A :class:`TokenSession` built from an environment, remembering where it came from."""

    def __init__(
        self,
        provider: TokenProvider,
        *,
        environment: Environment,
        scope_choice: ScopeChoice,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            provider, scopes=scope_choice.scopes, environment=environment.name, **kwargs
        )
        self.env = environment
        self.scope_choice = scope_choice


def session_from_env(
    env: str | None = None,
    *,
    scopes: Iterable[str] | None = None,
    required_scopes: Iterable[str] = (),
    config: str | os.PathLike[str] | None = None,
    environments_file: str | os.PathLike[str] | None = None,
    credentials: str | None = None,
    interactive: bool | None = None,
    device: bool = False,
    open_browser: bool = True,
    cache: TokenCache | None = None,
    http_timeout: float | None = None,
    allow_insecure_http: bool | None = None,
) -> EnvSession:
    """Build the session for an environment of ``environments.json``.

    The provider is client credentials when the environment (or ``credentials=``) names
    credentials, else interactive (PKCE, or the device flow with ``device=True``).
    Scopes follow the precedence: ``scopes=`` > environment > credentials file > defaults.
    Every setting is checked here (see :func:`load_environments`), before any request.
    """
    directory = config_dir(config)
    environment = load_environment(
        env,
        environments_file or directory / ENVIRONMENTS_FILE,
        allow_insecure_http=allow_insecure_http,
    )
    common: dict[str, Any] = {
        "http_timeout": http_timeout,
        "allow_insecure_http": allow_insecure_http,
    }
    reference = credentials or environment.credentials
    creds: Credentials | None = None
    provider: TokenProvider
    if reference is None and environment.client_id is None:
        if not (directory / CREDENTIALS_FILE).exists():
            raise ConfigError(
                f"{environment.source}: environment {environment.name!r} needs 'client_id' "
                "or 'credentials'"
            )
        reference = CREDENTIALS_FILE
    if reference is not None:
        creds = load_credentials(reference, base_dir=directory)
        choice = resolve_scopes(
            scopes, environment, creds, ClientCredentialsProvider.default_scopes
        )
        provider = ClientCredentialsProvider(
            environment.issuer,
            creds.client_id,
            creds.client_secret,
            scopes=choice.scopes,
            **common,
        )
    else:
        assert environment.client_id is not None
        choice = resolve_scopes(
            scopes, environment, None, AuthorizationCodePkceProvider.default_scopes
        )
        if device:
            provider = DeviceCodeProvider(
                environment.issuer, environment.client_id, scopes=choice.scopes, **common
            )
        else:
            provider = AuthorizationCodePkceProvider(
                environment.issuer,
                environment.client_id,
                scopes=choice.scopes,
                open_browser=open_browser,
                **common,
            )
    return EnvSession(
        provider,
        environment=environment,
        scope_choice=choice,
        cache=cache or shared_cache(directory),
        required_scopes=required_scopes,
        interactive=interactive,
        locks=LockRegistry(directory / "locks"),
    )


class ApiClient(httpx.Client):
    """An ``httpx.Client`` for the environment's API with scopegate auth attached.

    :param session: where tokens come from.
    :param base_url: the API base URL.
    :param required_scopes: scopes every request needs.
    """

    def __init__(
        self,
        session: TokenSession,
        *,
        base_url: str = "",
        required_scopes: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        self.session = session
        super().__init__(
            base_url=base_url,
            auth=ScopegateAuth(session, required_scopes=required_scopes),
            **kwargs,
        )

    @classmethod
    def from_env(
        cls,
        env: str | None = None,
        *,
        scopes: Iterable[str] | None = None,
        required_scopes: Iterable[str] = (),
        config: str | os.PathLike[str] | None = None,
        interactive: bool | None = None,
        **kwargs: Any,
    ) -> ApiClient:
        """Build a client from ``environments.json`` (``SCOPEGATE_ENV`` picks the default)."""
        session = session_from_env(env, scopes=scopes, config=config, interactive=interactive)
        return cls(
            session,
            base_url=session.env.api_base_url or "",
            required_scopes=required_scopes,
            **kwargs,
        )


class AsyncApiClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` for the environment's API with scopegate auth attached."""

    def __init__(
        self,
        session: TokenSession,
        *,
        base_url: str = "",
        required_scopes: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        self.session = session
        super().__init__(
            base_url=base_url,
            auth=ScopegateAuth(session, required_scopes=required_scopes),
            **kwargs,
        )

    @classmethod
    def from_env(
        cls,
        env: str | None = None,
        *,
        scopes: Iterable[str] | None = None,
        required_scopes: Iterable[str] = (),
        config: str | os.PathLike[str] | None = None,
        interactive: bool | None = None,
        **kwargs: Any,
    ) -> AsyncApiClient:
        """Build an async client from ``environments.json``."""
        session = session_from_env(env, scopes=scopes, config=config, interactive=interactive)
        return cls(
            session,
            base_url=session.env.api_base_url or "",
            required_scopes=required_scopes,
            **kwargs,
        )
