"""Device-flow user codes (RFC 8628 §6.1): short, unambiguous, typed by a person.

The alphabet has no vowels (no words by accident) and no look-alikes (0/O, 1/I/L):
20 letters, 8 of them per code, about 34.6 bits; wrong guesses are rate limited.
"""

from __future__ import annotations

import secrets

__all__ = ["USER_CODE_ALPHABET", "USER_CODE_LENGTH", "format_user_code", "new_user_code",
           "normalize_user_code"]

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
_ALLOWED = frozenset(USER_CODE_ALPHABET)


def new_user_code() -> str:
    """Return a fresh normalized code (8 letters, no separator)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def format_user_code(code: str) -> str:
    """Show a normalized code as ``XXXX-XXXX``."""
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_user_code(typed: str) -> str | None:
    """Turn what a person typed into a normalized code, or None if it cannot be one.

    Case, spaces and dashes are ignored (RFC 8628 §6.1); any other character or a wrong
    length means the input is not a code.
    """
    if len(typed) > 32:
        return None
    letters = "".join(c for c in typed.upper() if c not in " -\t")
    if len(letters) != USER_CODE_LENGTH or not set(letters) <= _ALLOWED:
        return None
    return letters
