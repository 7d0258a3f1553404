"""What the sign-in and device pages count, and how a refusal reads.

Sign-in failures are counted per (account, client address) and per client address, never
per account alone: someone guessing a password from one place must not lock its owner
out everywhere. A successful sign-in forgets its (account, address) counter. IPv6
clients are counted per /64, the block one subscriber usually holds.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from ._base import Backoff, Counter

if TYPE_CHECKING:
    from ...config.settings import Settings

__all__ = ["LoginLimits", "client_address", "wait_phrase"]


def client_address(request: Request) -> str:
    """The address failures are counted against: the TCP peer, or what a trusted proxy
    said it was (uvicorn's ``--forwarded-allow-ips``); an IPv6 client's /64."""
    host = request.client.host if request.client else "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(slots=True)
class LoginLimits:
    """The sign-in throttle (``SCOPEGATE_LOGIN_*``); tests may change it on a running app."""

    failures_per_account_address: int = 5
    failures_per_address: int = 100
    first_wait_s: float = 1.0
    max_wait_s: float = 900.0
    reset_s: float = 12 * 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        """The limits a server was configured with."""
        return cls(settings.login_failures_per_account_address,
                   settings.login_failures_per_address, settings.login_first_wait,
                   settings.login_max_wait, settings.login_failure_reset)

    def counters(self, email: str, address: str) -> tuple[Counter, Counter]:
        """(account and address, address alone): the first is forgotten on success.

        The account is the typed email, so unknown emails are counted like known ones.
        """
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return ((f"acct:{account}:{address}", self._backoff(self.failures_per_account_address)),
                (f"addr:{address}", self._backoff(self.failures_per_address)))

    def _backoff(self, free: int) -> Backoff:
        return Backoff(free, self.first_wait_s, self.max_wait_s, self.reset_s)


def wait_phrase(seconds: int) -> str:
    """``"1 second"``, ``"40 seconds"``, ``"15 minutes"``: how long a person waits."""
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
