"""The one factory: configuration in, a ready session out, for every ``from_env``.

:func:`session_from_env` reads ``environments.json`` (and a credentials file or keyring
entry), checks every setting before any request, and picks the provider. The
:class:`FromEnv` mixin gives ``ApiClient``, ``AsyncApiClient`` and both auth classes
the same ``from_env``, written once here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self

from ._cache import TokenCache
from ._config import ENVIRONMENTS_FILE, Environment, ScopeChoice, load_environment, resolve_scopes
from ._config_files import CREDENTIALS_FILE, config_dir, load_credentials
from ._device import DeviceCodeProvider
from ._exceptions import ConfigError
from ._https import env_flag
from ._locks import LockRegistry
from ._providers import (
    CLIENT_CREDENTIALS_DEFAULT_SCOPES,
    INTERACTIVE_DEFAULT_SCOPES,
    AuthorizationCodePkceProvider,
    ClientCredentialsProvider,
    TokenProvider,
)
from ._session import TokenSession
from ._stores import PersistentTokenStore

__all__ = [
    "NO_KEYRING_ENV",
    "TOKENS_FILE",
    "EnvSession",
    "FromEnv",
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
    file = environments_file or directory / ENVIRONMENTS_FILE
    environment = load_environment(env, file, allow_insecure_http=allow_insecure_http)
    common: dict[str, Any] = {"http_timeout": http_timeout,
                              "allow_insecure_http": allow_insecure_http}
    reference = _credentials_reference(environment, directory, credentials)
    if reference is not None:
        provider, choice = _client_credentials(environment, directory, reference, scopes,
                                               common)
    else:
        provider, choice = _interactive_login(environment, scopes, device, open_browser,
                                              common)
    return EnvSession(
        provider,
        environment=environment,
        scope_choice=choice,
        cache=cache or shared_cache(directory),
        required_scopes=required_scopes,
        interactive=interactive,
        locks=LockRegistry(directory / "locks"),
    )


def _client_credentials(
    environment: Environment, directory: Path, reference: str,
    scopes: Iterable[str] | None, common: dict[str, Any],
) -> tuple[TokenProvider, ScopeChoice]:
    """The machine provider: the client's own credentials, no person involved."""
    creds = load_credentials(reference, base_dir=directory)
    choice = resolve_scopes(scopes, environment, creds, CLIENT_CREDENTIALS_DEFAULT_SCOPES)
    provider = ClientCredentialsProvider(environment.issuer, creds.client_id,
                                         creds.client_secret, scopes=choice.scopes, **common)
    return provider, choice


def _interactive_login(
    environment: Environment, scopes: Iterable[str] | None, device: bool,
    open_browser: bool, common: dict[str, Any],
) -> tuple[TokenProvider, ScopeChoice]:
    """A person signs in: PKCE in a browser, or the device flow with ``device=True``."""
    assert environment.client_id is not None  # _credentials_reference refused it otherwise
    choice = resolve_scopes(scopes, environment, None, INTERACTIVE_DEFAULT_SCOPES)
    options = common if device else {**common, "open_browser": open_browser}
    login = DeviceCodeProvider if device else AuthorizationCodePkceProvider
    provider = login(environment.issuer, environment.client_id, scopes=choice.scopes,
                     **options)
    return provider, choice


def _credentials_reference(
    environment: Environment, directory: Path, explicit: str | None
) -> str | None:
    """Where the client credentials are, or None for an interactive (``client_id``) login."""
    reference = explicit or environment.credentials
    if reference is None and environment.client_id is None:
        if not (directory / CREDENTIALS_FILE).exists():
            raise ConfigError(
                f"{environment.source}: environment {environment.name!r} needs 'client_id' "
                "or 'credentials'"
            )
        reference = CREDENTIALS_FILE
    return reference


class FromEnv:
    """``from_env`` for classes built from a session: ``cls(session, required_scopes=...)``."""

    @classmethod
    def _from_env_options(cls, session: EnvSession) -> dict[str, Any]:
        """Constructor arguments the environment supplies (the API client: its base URL)."""
        return {}

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
    ) -> Self:
        """Build from an environment of ``environments.json`` (``SCOPEGATE_ENV`` picks one).

        :param kwargs: passed on to the constructor (e.g. ``timeout=`` for a client).
        """
        session = session_from_env(env, scopes=scopes, config=config, interactive=interactive)
        build: Callable[..., Self] = cls
        options = {**cls._from_env_options(session), **kwargs}
        return build(session, required_scopes=required_scopes, **options)
