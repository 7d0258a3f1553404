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
     │    ├── SignInStepUpRequired       exit 4  the API wants a fresh sign-in; nobody can here
     │    ├── ScopeNotGranted                    the server declined scopes that were required
     │    └── IdentityChanged                    the new login is a different account
     ├── RevocationError                 exit 1  the server did not revoke a token (RFC 7009)
     └── TokenStoreError                 exit 1  the token could not be saved or read
"""

from __future__ import annotations

import datetime as dt
import email.utils
import shlex
import time
from collections.abc import Iterable
from typing import ClassVar

from ._terminal import terminal_text

__all__ = [
    "AuthenticationError",
    "ClientError",
    "ConfigError",
    "DeviceFlowError",
    "IdentityChanged",
    "LoginRequired",
    "LoginTimeout",
    "RevocationError",
    "ScopeNotGranted",
    "ScopeStepUpRequired",
    "SignInStepUpRequired",
    "StepUpError",
    "TokenEndpointError",
    "TokenStoreError",
    "login_command",
    "retry_after_seconds",
]

_MAX_RETRY_AFTER = 86_400  # a day: anything longer is a broken or hostile header


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
    """The authorization server answered an RFC 6749 §5.2 error.

    ``retry_after`` is the seconds its ``Retry-After`` header asked to wait (a 429 or
    503, RFC 9110 §10.2.3), else None. The message shows the server's description with
    control characters removed; ``description`` keeps it as received.
    """

    def __init__(
        self,
        error: str,
        description: str = "",
        status_code: int = 400,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.error = error
        self.description = description
        self.status_code = status_code
        self.retry_after = retry_after
        details = [terminal_text(description, markup=False)] if description else []
        if status_code == 429 and f"HTTP {status_code}" not in description:
            details.insert(0, "HTTP 429 Too Many Requests")
        if retry_after is not None:
            details.append(f"retry after {retry_after:.0f} s")
        text = f"authorization server refused the request: {terminal_text(error, markup=False)}"
        super().__init__(f"{text} ({'; '.join(details)})" if details else text)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a ``Retry-After`` header (delay-seconds or an HTTP-date) into seconds."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), _MAX_RETRY_AFTER))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a bare one is read as such
        when = when.replace(tzinfo=dt.UTC)
    delay = when.timestamp() - (time.time() if now is None else now)
    return float(min(max(0.0, round(delay)), _MAX_RETRY_AFTER))


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


class SignInStepUpRequired(StepUpError):
    """The API wants a more recent or stronger sign-in (RFC 9470) and nobody can sign in
    here (not interactive, or a login method that cannot ask for one).

    ``hint`` is the command that signs in afresh.
    """

    exit_code: ClassVar[int] = 4

    def __init__(self, max_age: int | None, acr_values: Iterable[str],
                 environment: str | None, reason: str = "this session is not interactive"
                 ) -> None:
        self.max_age = max_age
        self.acr_values = tuple(acr_values)
        self.environment = environment
        self.hint = login_command(environment) + (
            f" --max-age {max_age}" if max_age is not None else " --max-age 0")
        wants = (f"a sign-in within the last {max_age} seconds" if max_age is not None
                 else "a stronger sign-in (" + " or ".join(self.acr_values) + ")")
        super().__init__(f"the API wants {wants}; {reason}, so run: {self.hint} "
                         "and try again within that time")


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


class RevocationError(ClientError):
    """The server refused to revoke a token, which stays valid until it expires.

    ``answer`` is what the server said (status, RFC 6749 error code, description).
    """

    def __init__(self, answer: str, status_code: int) -> None:
        self.answer = answer
        self.status_code = status_code
        super().__init__(f"the server did not revoke the token: {answer}")


class TokenStoreError(ClientError):
    """The persistent token store could not be written or read."""
