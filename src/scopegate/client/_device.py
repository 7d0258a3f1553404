"""What the user sees during the device flow (RFC 8628 §3.3): the code, the URL, a countdown."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Protocol

from rich.console import Console
from rich.status import Status

from ._terminal import terminal_text

__all__ = ["DeviceDisplay", "DevicePrompt", "RichDeviceDisplay"]


@dataclass(frozen=True, slots=True)
class DevicePrompt:
    """The device authorization response, as shown to the user."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


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
