"""The per-request context that an endpoint's steps read and fill in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

if TYPE_CHECKING:
    from ...store.repositories import ClientRecord
    from ..state import ServerState

__all__ = ["Context"]


@dataclass(slots=True)
class Context:
    """What the steps of one request share.

    :param request: the Starlette request.
    :param server: the app's :class:`~scopegate.server.state.ServerState`.
    :param form: every form parameter with all its values (set by ``parse_form``).
    :param params: single-valued parameters (set by ``reject_duplicates``).
    :param client: the authenticated client (set by ``client_auth``).
    :param client_authenticated: False for a public client that only named itself.
    :param headers: headers added to the final response (e.g. ``no_store``).
    :param data: free slots for steps to hand values to later steps.
    """

    request: Request
    server: ServerState
    form: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    client: ClientRecord | None = None
    client_authenticated: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def require_client(self) -> ClientRecord:
        """The client set by ``client_auth`` (a programming error if absent)."""
        if self.client is None:
            raise RuntimeError("client_auth must run before this step")
        return self.client
