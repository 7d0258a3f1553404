"""Start-up checks shared by the server's and the guard's settings.

A setting is checked by a small function that returns None when the value is allowed,
else a phrase saying what is allowed ("an integer in 1..65535"). Each settings class
keeps one table ``{field name: check}``; :func:`check_fields` runs it and raises one
:class:`ConfigError` whose single-line message names the setting, what is allowed and
the value given. A new setting plugs in with one table row. Checks run when the settings
object is built, so nothing accepted at start-up can fail on a request later.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "Check",
    "ConfigError",
    "absolute_uri",
    "check_fields",
    "existing_file",
    "http_url",
    "number_in",
    "one_of",
    "redis_url",
    "text",
    "url_with_scheme",
    "whole_number_in",
]

Check = Callable[[Any], str | None]
"""Returns None when a value is allowed, else what is allowed (a phrase after "must be")."""


class ConfigError(ValueError):
    """A setting has a value that is not allowed (``scopegate serve`` exits with status 2).

    :param setting: how the operator spells the setting, e.g. ``SCOPEGATE_RATE_LIMIT``.
    :param allowed: what is allowed, e.g. ``an integer in 1..100000``.
    :param value: the value given (shown cut short; None for a secret, never shown).
    """

    def __init__(self, setting: str, allowed: str, value: Any = None) -> None:
        self.setting = setting
        message = f"{setting} must be {allowed}"
        if isinstance(value, str):
            message += f", not {value if len(value) <= 60 else value[:60] + '…'!r}"
        elif value is not None:
            message += f", not {value}"
        super().__init__(message)


def check_fields(values: Any, checks: Mapping[str, Check], name_of: Callable[[str], str],
                 secrets: Collection[str] = ()) -> None:
    """Run each check on the attribute of ``values`` it names (None means unset: skipped).

    :param secrets: fields whose value an error must not repeat.
    :raises ConfigError: the first value refused, named by ``name_of(field)``.
    """
    for field, check in checks.items():
        value = getattr(values, field)
        if value is None:
            continue
        allowed = check(value)
        if allowed is not None:
            raise ConfigError(name_of(field), allowed, None if field in secrets else value)


def _listed(words: Sequence[str]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


def _plain(number: float) -> str:
    return str(int(number)) if number == int(number) else f"{number:g}"


def whole_number_in(low: int, high: int) -> Check:
    """An int (not a bool) in ``low..high``."""
    allowed = f"a whole number in {low}..{high}"

    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return None if ok else allowed

    return check


def number_in(low: float, high: float, unit: str = "") -> Check:
    """A finite number in ``[low, high]`` (nan and infinities refused)."""
    allowed = f"a number in {_plain(low)}..{_plain(high)}{unit}"

    def check(value: Any) -> str | None:
        ok = (isinstance(value, int | float) and not isinstance(value, bool)
              and math.isfinite(value) and low <= value <= high)
        return None if ok else allowed

    return check


def one_of(*choices: str) -> Check:
    """One of the given strings, exactly."""
    allowed = _listed(choices)
    return lambda value: None if value in choices else allowed


def text(max_length: int, *, forbidden: str = "") -> Check:
    """1 to ``max_length`` printable characters, none of ``forbidden``, no surrounding space."""
    allowed = f"1 to {max_length} printable characters"
    if forbidden:
        allowed += " without " + " or ".join(repr(c) for c in forbidden)

    def check(value: Any) -> str | None:
        ok = (isinstance(value, str) and 0 < len(value) <= max_length and value.isprintable()
              and value == value.strip() and not any(c in value for c in forbidden))
        return None if ok else allowed

    return check


def _url_parts(value: Any) -> Any:
    if not isinstance(value, str) or any(c.isspace() or not c.isprintable() for c in value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port outside 0-65535
    except ValueError:
        return None
    return parts


def http_url(value: Any) -> str | None:
    """RFC 8414 §2 shape: an absolute http(s) URL with a host, no query, no fragment."""
    parts = _url_parts(value)
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
            or "?" in value or "#" in value):
        return "an absolute http(s) URL without query or fragment"
    return None


def absolute_uri(value: Any) -> str | None:
    """RFC 8707 §2 resource identifier: an absolute URI without a fragment."""
    parts = _url_parts(value)
    if parts is None or not parts.scheme or not (parts.netloc or parts.path) or "#" in value:
        return "an absolute URI without a fragment, e.g. https://api.example.com"
    return None


def url_with_scheme(*schemes: str, example: str) -> Check:
    """A URL whose scheme is one of ``schemes`` (and, unless ``unix``, with a host)."""
    allowed = f"a {_listed([s + '://' for s in schemes])} URL, e.g. {example}"

    def check(value: Any) -> str | None:
        parts = _url_parts(value)
        if parts is None or parts.scheme not in schemes:
            return allowed
        if parts.scheme != "unix" and not parts.hostname:
            return allowed
        return None

    return check


redis_url = url_with_scheme("redis", "rediss", "unix", example="redis://127.0.0.1:6379/0")
"""Where a shared limiter or cache lives: the server's and the guard's ``redis_url``."""


def existing_file(value: Any) -> str | None:
    """A path to a file that exists and can be read."""
    path = Path(value)
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        return f"a readable file ({exc.strerror or 'cannot open it'})"
    return None
