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
from dataclasses import replace
from pathlib import Path
from typing import Any, Self

import httpx

from scopegate.scopes import SIGN_IN_SCOPES

from ._cache import TokenCache
from ._config import (
    ENV_SELECT_ENV,
    ENVIRONMENTS_FILE,
    Environment,
    ScopeChoice,
    ScopeSource,
    load_environment,
    resolve_scopes,
)
from ._config_files import CREDENTIALS_FILE, Credentials, config_dir, load_credentials
from ._device import DeviceCodeProvider
from ._discovery import Discovery
from ._exceptions import AuthenticationError, ConfigError
from ._flow import drive_sync
from ._http import http_timeout as http_timeout_seconds
from ._https import env_flag, secure_url
from ._locks import LockRegistry
from ._providers import (
    CLIENT_CREDENTIALS_DEFAULT_SCOPES,
    INTERACTIVE_DEFAULT_SCOPES,
    AuthorizationCodePkceProvider,
    ClientCredentialsProvider,
    TokenProvider,
)
from ._registration import registered_client_flow, registration_store
from ._resource import ProtectedResource, discover_resource_flow
from ._session import TokenSession
from ._stores import PersistentTokenStore

__all__ = [
    "API_URL_ENV",
    "NO_KEYRING_ENV",
    "TOKENS_FILE",
    "EnvSession",
    "FromEnv",
    "session_from_env",
    "shared_cache",
]

TOKENS_FILE = "tokens.json"
NO_KEYRING_ENV = "SCOPEGATE_NO_KEYRING"
#: An API's URL alone, when no environment is chosen (see :func:`session_from_env`).
API_URL_ENV = "SCOPEGATE_API_URL"

_caches: dict[Path, TokenCache] = {}
DPOP_ENV = "SCOPEGATE_DPOP"
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
            provider, scopes=scope_choice.scopes, environment=environment.name,
            dpop=environment.dpop or env_flag(DPOP_ENV), **kwargs,  # RFC 9449, opt-in
        )
        self.env = environment
        self.scope_choice = scope_choice


def session_from_env(
    env: str | None = None,
    *,
    api_url: str | None = None,
    client_id: str | None = None,
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
    """Build the session for an environment of ``environments.json``, or for an API's URL.

    The provider is client credentials when the environment (or ``credentials=``) names
    credentials, else interactive (PKCE, or the device flow with ``device=True``).
    Scopes: ``scopes=`` > environment > credentials file > what the API names > defaults.
    Every setting is checked here, before any request to the issuer.

    :param api_url: the API alone (``SCOPEGATE_API_URL``) when no environment is chosen;
        its RFC 9728 metadata names the issuer and scopes, and tokens name it as
        ``resource`` (RFC 8707). With ``env``, it replaces the ``api_base_url``.
    :param client_id: the client for an interactive login (replaces the environment's).
    """
    directory = config_dir(config)
    environment = _environment(env, api_url, client_id,
                               environments_file or directory / ENVIRONMENTS_FILE,
                               allow_insecure_http)
    found = None
    if environment.issuer is None:
        found = _discover(environment, directory, http_timeout, allow_insecure_http)
        environment = replace(environment, issuer=found.issuer)
    common: dict[str, Any] = {"http_timeout": http_timeout,
                              "allow_insecure_http": allow_insecure_http,
                              "resource": found.resource if found else None}
    reference = _credentials_reference(environment, directory, credentials)
    if reference is not None:
        provider, choice = _client_credentials(environment, directory, reference, scopes,
                                               found, common)
    else:
        provider, choice = _interactive_login(environment, directory, scopes, found, device,
                                              open_browser, common)
    return EnvSession(provider, environment=environment, scope_choice=choice,
                      cache=cache or shared_cache(directory), required_scopes=required_scopes,
                      interactive=interactive, locks=LockRegistry(directory / "locks"))


def _client_credentials(
    environment: Environment, directory: Path, reference: str,
    scopes: Iterable[str] | None, found: ProtectedResource | None, common: dict[str, Any],
) -> tuple[TokenProvider, ScopeChoice]:
    """The machine provider: the client's own credentials, no person involved."""
    creds = load_credentials(reference, base_dir=directory)
    choice = _choose_scopes(scopes, environment, creds, found, interactive=False)
    assert environment.issuer is not None  # discovered by now
    provider = ClientCredentialsProvider(environment.issuer, creds.client_id,
                                         creds.client_secret, scopes=choice.scopes, **common)
    return provider, choice


def _interactive_login(
    environment: Environment, directory: Path, scopes: Iterable[str] | None,
    found: ProtectedResource | None, device: bool, open_browser: bool, common: dict[str, Any],
) -> tuple[TokenProvider, ScopeChoice]:
    """A person signs in: PKCE in a browser, or the device flow with ``device=True``;
    with no client configured, as the client this SDK registers (RFC 7591)."""
    assert environment.issuer is not None  # discovered by now
    client_id = environment.client_id or _registered_client_id(environment, directory,
                                                               device, common)
    choice = _choose_scopes(scopes, environment, None, found, interactive=True)
    options = common if device else {**common, "open_browser": open_browser}
    login = DeviceCodeProvider if device else AuthorizationCodePkceProvider
    provider = login(environment.issuer, client_id, scopes=choice.scopes, **options)
    return provider, choice


def _registered_client_id(environment: Environment, directory: Path, device: bool,
                          common: dict[str, Any]) -> str:
    """This SDK's own registration at the issuer: stored, read back, or made now."""
    assert environment.issuer is not None  # discovered by now
    discovery = Discovery(environment.issuer, http_timeout=common["http_timeout"],
                          allow_insecure_http=common["allow_insecure_http"])
    store = registration_store(directory, use_keyring=not env_flag(NO_KEYRING_ENV))
    flow = registered_client_flow(discovery, store, device=device)
    try:
        with httpx.Client() as http:
            return drive_sync(flow, http.send, LockRegistry(directory / "locks"))
    except httpx.TransportError as exc:
        raise AuthenticationError(f"{environment.issuer}: cannot reach the issuer to "
                                  f"register this client: {exc}") from None


def _environment(env: str | None, api_url: str | None, client_id: str | None,
                 file: str | os.PathLike[str], allow_insecure_http: bool | None) -> Environment:
    """The chosen environment, or one made of the API's URL when none is chosen."""
    if client_id is not None and (not client_id.strip() or not client_id.isprintable()):
        raise ConfigError(f"client_id {client_id!r}: must be printable text, not empty")
    alone = api_url or os.environ.get(API_URL_ENV)
    if alone and env is None and not os.environ.get(ENV_SELECT_ENV):
        url = secure_url(alone, "api_url", allow_insecure_http=allow_insecure_http)
        source = "api_url" if api_url else API_URL_ENV
        return Environment(name=url, issuer=None, api_base_url=url, client_id=client_id,
                           source=source)
    environment = load_environment(env, file, allow_insecure_http=allow_insecure_http)
    if api_url is not None:
        api_url = secure_url(api_url, "api_url", allow_insecure_http=allow_insecure_http)
        environment = replace(environment, api_base_url=api_url)
    return environment if client_id is None else replace(environment, client_id=client_id)


def _discover(environment: Environment, directory: Path, http_timeout: float | None,
              allow_insecure_http: bool | None) -> ProtectedResource:
    """Ask the environment's API for its RFC 9728 metadata (see ``_resource.py``)."""
    api = environment.api_base_url
    assert api is not None  # an environment names an issuer, an API, or both
    flow = discover_resource_flow(api, http_timeout=http_timeout_seconds(http_timeout),
                                  allow_insecure_http=allow_insecure_http)
    try:
        with httpx.Client() as http:
            return drive_sync(flow, http.send, LockRegistry(directory / "locks"))
    except httpx.TransportError as exc:
        raise AuthenticationError(f"{api}: cannot reach the API to find its issuer: "
                                  f"{exc}") from None


def _choose_scopes(explicit: Iterable[str] | None, environment: Environment,
                   credentials: Credentials | None, found: ProtectedResource | None, *,
                   interactive: bool) -> ScopeChoice:
    """The precedence of ``resolve_scopes``, with what the API names before the defaults."""
    defaults = INTERACTIVE_DEFAULT_SCOPES if interactive else CLIENT_CREDENTIALS_DEFAULT_SCOPES
    if found is None or not found.scopes:
        return resolve_scopes(explicit, environment, credentials, defaults)
    named = (*SIGN_IN_SCOPES, *found.scopes) if interactive else found.scopes
    choice = resolve_scopes(explicit, environment, credentials, named)
    if choice.source is ScopeSource.DEFAULT:
        return ScopeChoice(choice.scopes, ScopeSource.RESOURCE)
    return choice


def _credentials_reference(
    environment: Environment, directory: Path, explicit: str | None
) -> str | None:
    """Where the client credentials are, or None for an interactive login (with the
    configured ``client_id``, or one this SDK registers)."""
    reference = explicit or environment.credentials
    # Neither: client credentials from the default file, else this SDK registers itself.
    if reference is None and environment.client_id is None \
            and (directory / CREDENTIALS_FILE).exists():
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
        api_url: str | None = None,
        **kwargs: Any,
    ) -> Self:
        """Build from an environment of ``environments.json`` (``SCOPEGATE_ENV`` picks one),
        or from an API's URL alone (``api_url=`` or ``SCOPEGATE_API_URL``; see
        :func:`session_from_env`).

        :param kwargs: passed on to the constructor (e.g. ``timeout=`` for a client).
        """
        session = session_from_env(env, api_url=api_url, scopes=scopes, config=config,
                                   interactive=interactive)
        build: Callable[..., Self] = cls
        options = {**cls._from_env_options(session), **kwargs}
        return build(session, required_scopes=required_scopes, **options)
