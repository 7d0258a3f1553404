"""What the user sees during the device flow (RFC 8628 §3.3): the code, the URL, a countdown."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rich.console import Console
from rich.status import Status

from ._exceptions import DeviceFlowError
from ._terminal import terminal_text

__all__ = ["DeviceDisplay", "DevicePrompt", "RichDeviceDisplay", "device_prompt"]


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
    """A rich panel with the code and a live spinner counting down to expiry (on stderr)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(file=sys.stderr)
        self._status: Status | None = None

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
        self._status = self.console.status(self._text(prompt.expires_in, prompt.interval))
        self._status.start()

    @staticmethod
    def _text(remaining: float, interval: float) -> str:
        minutes, seconds = divmod(max(0, int(remaining)), 60)
        return f"Waiting for approval… {minutes}:{seconds:02d} left (polling every {interval:g}s)"

    def update(self, remaining: float, interval: float) -> None:
        """Update the countdown text."""
        if self._status is not None:
            self._status.update(self._text(remaining, interval))

    def close(self) -> None:
        """Stop the spinner."""
        if self._status is not None:
            self._status.stop()
            self._status = None
