"""scopegate.client: the SDK that requests, caches and steps up OAuth 2 scopes.

Start here::

    from scopegate.client import ApiClient
    with ApiClient.from_env("prod", required_scopes=["apps:read"]) as api:
        api.get("/apps")            # a token is fetched, cached, refreshed, stepped up

The names below are the whole public surface; everything else lives in private modules
(``_flow``, ``_cache``, ``_stores``, ...) for the CLI and the tests. The client never
imports the server, the store or the guard; scopes are compared only through
:mod:`scopegate.scopes`.
"""

from __future__ import annotations

from ._api_client import ApiClient, AsyncApiClient
from ._auth import ScopegateAuth, ScopegateRequestsAuth, required_scopes_extension
from ._config_files import Credentials
from ._context import aget_token, get_token, requires_scopes, use_session
from ._device import DeviceCodeProvider
from ._exceptions import (
    AuthenticationError,
    ClientError,
    ConfigError,
    LoginRequired,
    ScopeStepUpRequired,
    SignInStepUpRequired,
    StepUpError,
    TokenEndpointError,
)
from ._factory import session_from_env
from ._providers import AuthorizationCodePkceProvider, ClientCredentialsProvider
from ._session import TokenSession
from ._terminal import terminal_text
from ._tokens import Token

__all__ = [
    "ApiClient",
    "AsyncApiClient",
    "AuthenticationError",
    "AuthorizationCodePkceProvider",
    "ClientCredentialsProvider",
    "ClientError",
    "ConfigError",
    "Credentials",
    "DeviceCodeProvider",
    "LoginRequired",
    "ScopeStepUpRequired",
    "ScopegateAuth",
    "ScopegateRequestsAuth",
    "SignInStepUpRequired",
    "StepUpError",
    "Token",
    "TokenEndpointError",
    "TokenSession",
    "aget_token",
    "get_token",
    "required_scopes_extension",
    "requires_scopes",
    "session_from_env",
    "terminal_text",
    "use_session",
]
