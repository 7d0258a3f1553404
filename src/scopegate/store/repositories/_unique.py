"""Opaque primary keys, and the error for a unique name that is taken."""

from __future__ import annotations

import secrets

__all__ = ["AlreadyExists", "new_id"]


class AlreadyExists(ValueError):
    """A unique name (email, workspace name) is taken."""


def new_id(prefix: str) -> str:
    """Return an opaque primary key such as ``usr_3f9a…`` (96 random bits)."""
    return f"{prefix}_{secrets.token_hex(12)}"
