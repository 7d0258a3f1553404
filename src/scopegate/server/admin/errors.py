"""What an admin operation refuses, each with a sentence a person can act on.

::

    AdminError
    ├── Invalid      bad input (the CLI exits 2, an API answers 400)
    ├── NotFound     no such client, user, workspace, key or session (exit 1, 404)
    │   └── NotAMember  the user is not in that workspace
    └── Conflict     it exists already (exit 1)
"""

from __future__ import annotations

__all__ = ["AdminError", "Conflict", "Invalid", "NotAMember", "NotFound", "quoted"]


class AdminError(Exception):
    """An admin operation refused; ``str(exc)`` says why."""


class Invalid(AdminError):
    """The input is not acceptable; nothing was stored."""


class NotFound(AdminError):
    """What the operation names does not exist."""


class NotAMember(NotFound):
    """The user is not a member of the workspace the key was to be bound to."""

    def __init__(self, workspace: str) -> None:
        self.workspace = workspace
        super().__init__(f"not a member of workspace {quoted(workspace)}")


class Conflict(AdminError):
    """It exists already."""


def quoted(value: str, limit: int = 80) -> str:
    """``value`` quoted for a message, cut short so a huge argument stays readable."""
    return repr(value if len(value) <= limit else value[:limit] + "…")
