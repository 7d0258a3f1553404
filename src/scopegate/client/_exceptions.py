"""Errors raised by the scopegate client SDK; each message is one line a user can act on.

Exception tree::

    ClientError                          exit 1
     ├── ConfigError                     exit 2  a config or credentials file is missing or invalid
     ├── AuthenticationError             exit 1  no usable token could be obtained
     │    ├── TokenEndpointError                 the authorization server answered an error
     │    ├── LoginRequired                      no session and no way to start one here
     │    ├── LoginTimeout                       the browser or device login was not finished
     │    └── DeviceFlowError                    access_denied / expired_token / too many slow_down
     ├── StepUpError                     exit 1  a step-up could not give the required scopes
     │    ├── ScopeStepUpRequired        exit 4  scopes are missing and nobody can log in here
     │    ├── ScopeNotGranted                    the server declined scopes that were required
     │    └── IdentityChanged                    the new login is a different account
     └── TokenStoreError                 exit 1  the token could not be saved or read
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import ClassVar

__all__ = [
    "AuthenticationError",
    "ClientError",
    "ConfigError",
    "DeviceFlowError",
    "IdentityChanged",
    "LoginRequired",
    "LoginTimeout",
    "ScopeNotGranted",
    "ScopeStepUpRequired",
    "StepUpError",
    "TokenEndpointError",
    "TokenStoreError",
    "login_command",
]


def login_command(environment: str | None, scopes: Iterable[str] = ()) -> str:
    """Return a copy-pasteable ``scopegate login`` command for an environment and scopes."""
    parts = ["scopegate", "login"]
    if environment:
        parts += ["--env", environment]
    for scope in sorted(set(scopes)):
        parts += ["--scope", scope]
    return shlex.join(parts)


class ClientError(Exception):
    """Base class of every client SDK error; ``exit_code`` is what the CLI exits with."""

    exit_code: ClassVar[int] = 1


class ConfigError(ClientError):
    """A configuration or credentials file is missing, unreadable or invalid."""

    exit_code: ClassVar[int] = 2


class AuthenticationError(ClientError):
    """No usable access token could be obtained."""


class TokenEndpointError(AuthenticationError):
    """The authorization server answered an RFC 6749 §5.2 error."""

    def __init__(self, error: str, description: str = "", status_code: int = 400) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        text = f"authorization server refused the request: {error}"
        super().__init__(f"{text} ({description})" if description else text)


class LoginRequired(AuthenticationError):
    """There is no session for this environment and this process cannot start a login."""

    def __init__(self, environment: str | None, reason: str = "not logged in") -> None:
        self.environment = environment
        self.hint = login_command(environment)
        super().__init__(f"{reason}; run: {self.hint}")


class LoginTimeout(AuthenticationError):
    """The user did not finish the browser or device login in time."""


class DeviceFlowError(AuthenticationError):
    """The device flow ended without a token (denied, expired, or the server kept slowing us)."""


class StepUpError(ClientError):
    """A step-up to more scopes could not be completed."""


class ScopeStepUpRequired(StepUpError):
    """Required scopes are missing and this process is not interactive, so it cannot log in.

    ``missing`` lists the scopes; ``hint`` is the command that grants them.
    """

    exit_code: ClassVar[int] = 4

    def __init__(self, missing: Iterable[str], environment: str | None) -> None:
        self.missing: tuple[str, ...] = tuple(sorted(set(missing)))
        self.environment = environment
        self.hint = login_command(environment, self.missing)
        super().__init__(
            "this command needs scope(s) your session lacks: "
            + ", ".join(self.missing)
            + f"; this session is not interactive, so run: {self.hint}"
        )


class ScopeNotGranted(StepUpError):
    """The authorization server issued a token without some required scopes."""

    def __init__(self, missing: Iterable[str]) -> None:
        self.missing: tuple[str, ...] = tuple(sorted(set(missing)))
        super().__init__(
            "the authorization server did not grant the required scope(s): "
            + ", ".join(self.missing)
            + " (ask an administrator to allow them for this client or account)"
        )


class IdentityChanged(StepUpError):
    """The step-up login returned a different account than the cached session."""

    def __init__(self, expected: str, actual: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"step-up aborted: you signed in as {actual!r} but this session belongs to "
            f"{expected!r}; log out first to switch accounts"
        )


class TokenStoreError(ClientError):
    """The persistent token store could not be written or read."""
