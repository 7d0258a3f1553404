"""The per-request context that an endpoint's steps read and fill in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ..http import JSONResponse

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

    Header names from ASGI servers are lower case; the first of repeated headers wins.
    """

    request: Request
    server: ServerState
    form: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    client: ClientRecord | None = None
    client_authenticated: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    _headers_in: dict[str, str] | None = None

    def header(self, name: str) -> str | None:
        """A request header by lower-case name (one pass over the raw headers, cached)."""
        found = self._headers_in
        if found is None:
            found = self._headers_in = {
                key.decode("latin-1"): value.decode("latin-1")
                for key, value in reversed(self.request.scope["headers"])}
        return found.get(name)

    def respond(self, body: Any, status_code: int = 200) -> Response:
        """A JSON response carrying ``headers`` (built in once, cheaper than adding later)."""
        response = JSONResponse(body, status_code=status_code, headers=self.headers)
        self.headers = {}
        return response

    def require_client(self) -> ClientRecord:
        """The client set by ``client_auth`` (a programming error if absent)."""
        if self.client is None:
            raise RuntimeError("client_auth must run before this step")
        return self.client
