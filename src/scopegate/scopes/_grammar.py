"""RFC 6749 §3.3 scope grammar: parse and format space-delimited scope strings.

    scope       = scope-token *( SP scope-token )
    scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._errors import ScopeSyntaxError

__all__ = [
    "MAX_SCOPES",
    "MAX_SCOPE_STRING_LENGTH",
    "MAX_SCOPE_TOKEN_LENGTH",
    "is_scope_token",
    "parse_scope",
    "validate_tokens",
]

MAX_SCOPE_TOKEN_LENGTH = 128
MAX_SCOPE_STRING_LENGTH = 2048
MAX_SCOPES = 64

_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def is_scope_token(value: str) -> bool:
    """Return whether ``value`` is one valid scope-token of bounded length."""
    return len(value) <= MAX_SCOPE_TOKEN_LENGTH and _TOKEN.fullmatch(value) is not None


def parse_scope(value: str) -> tuple[str, ...]:
    """Split a scope string into its tokens, keeping first-seen order and dropping repeats.

    Runs of spaces are tolerated (many clients send them); any other whitespace,
    quote, backslash or control character is a syntax error.

    :param value: the space-delimited scope string, e.g. ``"api apps:read"``.
    """
    if len(value) > MAX_SCOPE_STRING_LENGTH:
        raise ScopeSyntaxError(f"scope string longer than {MAX_SCOPE_STRING_LENGTH} characters")
    tokens = [token for token in value.split(" ") if token]
    return validate_tokens(tokens)


def validate_tokens(tokens: Iterable[str]) -> tuple[str, ...]:
    """Check each token against the grammar; return them de-duplicated in order."""
    seen: dict[str, None] = {}
    for token in tokens:
        if not isinstance(token, str) or not is_scope_token(token):
            shown = token if isinstance(token, str) else type(token).__name__
            raise ScopeSyntaxError(f"invalid scope token {shown[:40]!r}")
        seen[token] = None
    if len(seen) > MAX_SCOPES:
        raise ScopeSyntaxError(f"more than {MAX_SCOPES} scopes")
    return tuple(seen)

