"""``WWW-Authenticate`` (RFC 7235 §4.1): challenges read in one linear pass, size-capped.

One header may hold several challenges (``Basic realm="x", Bearer error="..."``) and a
response may carry several headers (``requests`` joins them with ", "); both read the
same. A header over :data:`MAX_CHALLENGE_LENGTH` characters, or one that does not parse,
counts as no challenge at all: the response is then returned to the caller as is.

:func:`retry_scopes` is where the step-up starts: a 401, or a 403 whose Bearer
challenge says ``insufficient_scope``, names the scopes the one retry asks for.
:func:`user_authentication` reads RFC 9470's 401 ``insufficient_user_authentication``:
the API wants a more recent (``max_age``) or stronger (``acr_values``) sign-in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
import requests

from scopegate.scopes import Catalog, canonical_names, scopes_from_value, union

__all__ = [
    "MAX_CHALLENGE_LENGTH",
    "AuthDemand",
    "Challenge",
    "insufficient_scope",
    "parse_challenges",
    "retry_scopes",
    "user_authentication",
]

MAX_CHALLENGE_LENGTH = 8192

Challenge = tuple[str, dict[str, str]]  # (lower-case scheme, lower-case param -> value)

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")
_SPACE = re.compile(r"[ \t]*")
_SEPARATORS = re.compile(r"[ \t,]*")


class _Malformed(Exception):
    pass


class _Reader:
    """A cursor over one header value; every match starts where the last one ended."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def take(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        match = pattern.match(self.text, self.at)
        if match is not None:
            self.at = match.end()
        return match

    def peek(self) -> str:
        return self.text[self.at : self.at + 1]

    def end_of_item(self) -> None:
        """After a value: only spaces, then a comma or the end, may follow."""
        self.take(_SPACE)
        if self.peek() not in ("", ","):
            raise _Malformed


def _value(reader: _Reader) -> str:
    quoted = reader.take(_QUOTED)
    if quoted is not None:
        return _ESCAPE.sub(r"\1", quoted.group(1))
    token = reader.take(_TOKEN)
    if token is None:
        raise _Malformed
    return token.group()


def _token68(reader: _Reader) -> bool:
    """Consume a token68 (``DPoP abc==``) if that is what follows the scheme."""
    start = reader.at
    if reader.take(_TOKEN68) is not None:
        after = reader.at
        reader.take(_SPACE)
        if reader.peek() in ("", ","):
            return True
        reader.at = after
    reader.at = start
    return False


def _parse(text: str) -> list[Challenge]:
    reader = _Reader(text)
    found: list[Challenge] = []
    while True:
        reader.take(_SEPARATORS)
        if not reader.peek():
            return found
        name = reader.take(_TOKEN)
        if name is None:
            raise _Malformed
        before_equals = reader.at
        reader.take(_SPACE)
        if reader.peek() == "=" and found:  # a parameter of the current challenge
            reader.at += 1
            reader.take(_SPACE)
            found[-1][1].setdefault(name.group().lower(), _value(reader))
            reader.end_of_item()
            continue
        reader.at = before_equals  # a new challenge: its scheme, then maybe a token68
        found.append((name.group().lower(), {}))
        if reader.take(_SPACE) and reader.at > before_equals and _token68(reader):
            continue
        if reader.peek() not in ("", ",") and reader.at == before_equals:
            raise _Malformed


def parse_challenges(headers: Iterable[str]) -> list[Challenge]:
    """Return every challenge of the ``WWW-Authenticate`` values, in order."""
    challenges: list[Challenge] = []
    for header in headers:
        if len(header) > MAX_CHALLENGE_LENGTH:
            continue
        try:
            challenges += _parse(header)
        except _Malformed:
            continue
    return challenges


def insufficient_scope(
    challenges: Iterable[str], catalog: Catalog | None = None
) -> frozenset[str] | None:
    """Read the scopes from an RFC 6750 ``insufficient_scope`` Bearer challenge.

    ``challenges`` are ``WWW-Authenticate`` values; each may hold several challenges.

    Returns None when no challenge says ``error="insufficient_scope"``; an empty set
    when it does but names no scope. With the issuer's ``catalog``, aliases in the
    challenge come back as canonical names.
    """
    for scheme, params in parse_challenges(challenges):
        # RFC 9449 §7.1: an API answers a DPoP-bound token with a DPoP challenge
        if scheme in ("bearer", "dpop") and params.get("error") == "insufficient_scope":
            return canonical_names(scopes_from_value(params.get("scope", "")) or (), catalog)
    return None


def retry_scopes(
    answer: httpx.Response | requests.Response,
    required: frozenset[str],
    catalog: Catalog | None = None,
) -> frozenset[str] | None:
    """Return the scopes to retry with, or None when the API's answer needs no retry."""
    if answer.status_code == 401:
        return required
    if answer.status_code == 403:
        extra = insufficient_scope(_www_authenticate(answer), catalog)
        if extra is not None:
            return union(required, extra)
    return None


def _www_authenticate(answer: httpx.Response | requests.Response) -> list[str]:
    if isinstance(answer, httpx.Response):
        return answer.headers.get_list("www-authenticate")
    return [answer.headers.get("www-authenticate", "")]


@dataclass(frozen=True, slots=True)
class AuthDemand:
    """What sign-in an API asks for (RFC 9470 §3): at most ``max_age`` seconds old, with
    one of ``acr_values``; sent as is to the authorization endpoint."""

    max_age: int | None = None
    acr_values: tuple[str, ...] = ()


def user_authentication(answer: httpx.Response | requests.Response) -> AuthDemand | None:
    """The sign-in a 401 ``insufficient_user_authentication`` asks for; None otherwise."""
    if answer.status_code != 401:
        return None
    for scheme, params in parse_challenges(_www_authenticate(answer)):
        if scheme == "bearer" and params.get("error") == "insufficient_user_authentication":
            raw = params.get("max_age", "")
            max_age = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
            return AuthDemand(max_age, tuple(params.get("acr_values", "").split()[:10]))
    return None
