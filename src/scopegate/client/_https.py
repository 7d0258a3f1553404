"""Where credentials may go: https, or plain http only to this machine (loopback).

RFC 6749 §2.3.1 and §3.2 require TLS for client authentication and the token
endpoint; RFC 6750 §5.3 for bearer tokens. A ``http://`` URL on any other host is a
configuration error unless the test-only opt-out ``SCOPEGATE_INSECURE_HTTP=1`` (or
``allow_insecure_http=True``) is given, which logs a warning naming the URL.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import urllib.parse

from ._exceptions import ConfigError

__all__ = ["INSECURE_HTTP_ENV", "env_flag", "insecure_http_allowed", "is_loopback", "secure_url"]

log = logging.getLogger("scopegate.client")

INSECURE_HTTP_ENV = "SCOPEGATE_INSECURE_HTTP"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def env_flag(name: str) -> bool:
    """Read a yes/no ``SCOPEGATE_*`` variable; anything but 1/0/true/false/yes/no/on/off fails."""
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: expected 1 or 0 (also true/false, yes/no, on/off)")


def insecure_http_allowed(explicit: bool | None = None) -> bool:
    """Return the opt-out: ``explicit`` when given, else ``SCOPEGATE_INSECURE_HTTP``."""
    return env_flag(INSECURE_HTTP_ENV) if explicit is None else explicit


def is_loopback(host: str) -> bool:
    """Return whether ``host`` is this machine: ``localhost``, 127.0.0.0/8 or ::1."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_url(url: str, setting: str, *, allow_insecure_http: bool | None = None) -> str:
    """Return ``url`` if credentials may be sent to it, else raise :class:`ConfigError`.

    :param setting: names the setting in the error (``issuer``, ``api_base_url`` ...).
    """
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a port outside 0-65535
    except ValueError:
        raise ConfigError(f"{setting} {url!r}: the port must be 0-65535") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{setting} {url!r}: must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ConfigError(f"{setting} {url!r}: must not carry a user, password or #fragment")
    if parts.scheme == "https" or is_loopback(parts.hostname):
        return url
    if not insecure_http_allowed(allow_insecure_http):
        raise ConfigError(
            f"{setting} {url!r}: credentials would travel in clear text; use https:// "
            f"(plain http is only for 127.0.0.1/localhost, or set {INSECURE_HTTP_ENV}=1 "
            "in tests)"
        )
    log.warning("%s: sending credentials in CLEAR TEXT to %s (tests only)", INSECURE_HTTP_ENV, url)
    return url
