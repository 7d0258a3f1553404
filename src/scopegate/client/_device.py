"""The device authorization grant (RFC 8628): show a code, poll until it is approved.

What the user sees (§3.3: the code, the URL, a countdown) is a :class:`DeviceDisplay`;
:class:`DeviceCodeProvider` polls, slowing down when asked (§3.5).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rich.console import Console
from rich.status import Status

from scopegate.scopes import format_scope

from ._discovery import json_body, raise_for_error
from ._exceptions import DeviceFlowError, TokenEndpointError
from ._flow import Flow, Sleep
from ._providers import TokenProvider
from ._terminal import terminal_text
from ._tokens import Token

__all__ = [
    "DeviceCodeProvider",
    "DeviceDisplay",
    "DevicePrompt",
    "RichDeviceDisplay",
    "device_prompt",
]

_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Refusals that end the flow (RFC 8628 §3.5), and what the user is told.
_ENDED = {
    "access_denied": "the login was denied on the device page",
    "expired_token": "the device code expired before it was approved; run login again",
}


@dataclass(frozen=True, slots=True)
class DevicePrompt:
    """The device authorization response, as shown to the user."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


def _seconds(value: Any, default: float, low: float, high: float) -> float:
    """A server's number of seconds, kept within [low, high]; not a number: ``default``.

    10**400, 1e999 or an interval of 1e308 would otherwise crash or sleep for ever.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        seconds = float(value)
    except OverflowError:
        return high if value > 0 else default
    if not math.isfinite(seconds) or seconds <= 0:
        return default
    return min(max(seconds, low), high)


def device_prompt(body: Mapping[str, Any]) -> tuple[str, DevicePrompt]:
    """Read an RFC 8628 §3.2 response: the device code, and what to show the user."""
    device_code = body.get("device_code")
    user_code = body.get("user_code")
    uri = body.get("verification_uri")
    if not (isinstance(device_code, str) and device_code):
        raise DeviceFlowError("device authorization response lacks a code or URI")
    if not all(isinstance(v, str) and v for v in (user_code, uri)):
        raise DeviceFlowError("device authorization response lacks a code or URI")
    complete = body.get("verification_uri_complete")
    return device_code, DevicePrompt(
        user_code=str(user_code),
        verification_uri=str(uri),
        verification_uri_complete=complete if isinstance(complete, str) else None,
        expires_in=_seconds(body.get("expires_in"), 600.0, 1.0, 1800.0),
        interval=_seconds(body.get("interval"), 5.0, 1.0, 60.0),
    )


class DeviceDisplay(Protocol):
    """Shows the device code and keeps the user informed while polling."""

    def show(self, prompt: DevicePrompt) -> None:
        """Show the code and where to enter it."""
        ...

    def update(self, remaining: float, interval: float) -> None:
        """Refresh the countdown after each poll."""
        ...

    def close(self) -> None:
        """Stop the live display."""
        ...


class RichDeviceDisplay:
    """A rich panel with the code and a live spinner (on stderr) that counts down, between
    polls, the seconds to the next check and the time left until the code expires.

    :param monotonic: the clock of the countdown (tests inject a fake).
    """

    def __init__(self, console: Console | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.console = console or Console(file=sys.stderr)
        self.monotonic = monotonic
        self._status: Status | None = None
        self._expires_at = self._next_poll_at = 0.0

    def show(self, prompt: DevicePrompt) -> None:
        """Print the URL and code, then start the spinner."""
        # Every field is the server's text: shown inert (no escapes, markup or newlines).
        self.console.print(
            f"Open [bold]{terminal_text(prompt.verification_uri)}[/] and enter the code "
            f"[bold cyan]{terminal_text(prompt.user_code)}[/]",
            highlight=False,
        )
        if prompt.verification_uri_complete:
            self.console.print(
                f"or open {terminal_text(prompt.verification_uri_complete)}", highlight=False
            )
        self._plan(prompt.expires_in, prompt.interval)
        # The spinner re-renders this object ~12 times a second: the countdown is live.
        self._status = self.console.status(self)
        self._status.start()

    def _plan(self, remaining: float, interval: float) -> None:
        now = self.monotonic()
        self._expires_at, self._next_poll_at = now + remaining, now + interval

    def text(self) -> str:
        """The countdown as it reads now: next check in N s, the code expires in M:SS."""
        now = self.monotonic()
        minutes, seconds = divmod(max(0, math.ceil(self._expires_at - now)), 60)
        next_poll = max(0, math.ceil(self._next_poll_at - now))
        return (f"Waiting for approval… next check in {next_poll}s, "
                f"code expires in {minutes}:{seconds:02d}")

    def __rich__(self) -> str:
        return self.text()

    def update(self, remaining: float, interval: float) -> None:
        """After a poll: restart the countdown to the next one (``interval`` may have grown)."""
        self._plan(remaining, interval)

    def close(self) -> None:
        """Stop the spinner."""
        if self._status is not None:
            self._status.stop()
            self._status = None


@dataclass(slots=True)
class _Polling:
    """Where a device login's polling stands: when it ends, how often, how often slowed."""

    deadline: float
    interval: float
    slow_downs: int = 0

    def slow_down(self, limit: int) -> None:
        """Poll 5 seconds slower from now on (RFC 8628 §3.5), up to ``limit`` times in a row."""
        self.slow_downs += 1
        self.interval += 5
        if self.slow_downs > limit:
            raise DeviceFlowError(
                f"the server asked to slow down {self.slow_downs} times in a row "
                f"(interval now {self.interval:g}s); check that this machine's "
                "clock is right and that only one login is running"
            )


class DeviceCodeProvider(TokenProvider):
    """The device authorization grant (RFC 8628): show a code, poll until approved.

    :param display: shows the code and a countdown (default: a rich spinner on stderr).
    :param monotonic: the clock for the code's expiry (tests inject a fake).
    :param max_slow_downs: consecutive ``slow_down`` answers tolerated before giving up.
    :param options: the :class:`TokenProvider` settings (``scopes``, ``http_timeout``, ...).
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        display: DeviceDisplay | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        max_slow_downs: int = 4,
        **options: Any,
    ) -> None:
        super().__init__(issuer, client_id, **options)
        self.display: DeviceDisplay = display or RichDeviceDisplay()
        self.monotonic = monotonic
        self.max_slow_downs = max_slow_downs

    def _start_flow(self, scopes: frozenset[str]) -> Flow[tuple[str, DevicePrompt]]:
        """Ask for a device code (RFC 8628 §3.1); return it with what to show the user."""
        endpoint = yield from self.endpoint_flow("device_authorization_endpoint")
        form = {"client_id": self.client_id, "scope": format_scope(scopes)}
        if self.resource is not None:
            form["resource"] = self.resource
        response = yield from self._exchange(self._request("POST", endpoint, form))
        body = json_body(response)
        raise_for_error(response, body)
        return device_prompt(body)

    def _on_refusal(self, exc: TokenEndpointError, polling: _Polling) -> None:
        """Keep polling (slower after ``slow_down``), or end the login with a clear error."""
        if exc.error == "authorization_pending":
            polling.slow_downs = 0
        elif exc.error == "slow_down":
            polling.slow_down(self.max_slow_downs)
        elif exc.error in _ENDED:
            raise DeviceFlowError(_ENDED[exc.error]) from None
        else:
            raise exc

    def acquire_flow(self, scopes: frozenset[str]) -> Flow[Token]:
        """Start the device flow and poll, honouring ``interval`` and ``slow_down``."""
        device_code, prompt = yield from self._start_flow(scopes)
        polling = _Polling(self.monotonic() + prompt.expires_in, prompt.interval)
        form = {"grant_type": _DEVICE_GRANT, "device_code": device_code}
        self.display.show(prompt)
        try:
            while True:
                yield Sleep(polling.interval)
                if self.monotonic() >= polling.deadline:
                    raise DeviceFlowError("the device code expired before it was approved")
                try:
                    return (yield from self.token_request_flow(dict(form), scopes))
                except TokenEndpointError as exc:
                    self._on_refusal(exc, polling)
                self.display.update(polling.deadline - self.monotonic(), polling.interval)
        finally:
            self.display.close()
