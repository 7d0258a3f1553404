"""The per-request context that an endpoint's steps read and fill in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope

from ..oauth2.grants.registry import GrantHandler
from .responses import JSONResponse

if TYPE_CHECKING:
    from ...store.repositories import ClientRecord
    from ..state import ServerState

__all__ = ["Caller", "Context"]


@dataclass(frozen=True, slots=True)
class Caller:
    """The user an endpoint acts for, named by a verified access token of that user.

    :param user_id: the token's ``sub``.
    :param granted: the token's scopes (nothing done for the caller may exceed them).
    """

    user_id: str
    granted: frozenset[str]


class Context:
    """What the steps of one request share.

    Built from a Starlette ``request``, or from a raw ASGI ``scope`` and ``receive`` (the
    token endpoint runs as plain ASGI; a :class:`~starlette.requests.Request` is then made
    only if a step asks for :attr:`request`). A plain slotted class, not a dataclass: one
    is built per request on the hot path.

    :param server: the app's :class:`~scopegate.server.state.ServerState`.
    :param request: the Starlette request (or give ``scope`` and ``receive``).
    :ivar form: every form parameter with all its values (set by ``parse_form``).
    :ivar params: single-valued parameters (set by ``reject_duplicates``).
    :ivar client: the authenticated client (set by ``client_auth``).
    :ivar client_authenticated: False for a public client that only named itself.
    :ivar headers: headers added to the final response (e.g. ``no_store``).
    :ivar grant: the grant the token endpoint chose (set by ``select_grant``).
    :ivar caller: the user a management API call acts for (set by ``bearer_user``).
    :ivar dpop_jkt: the key a token request's DPoP proof proved (set by ``dpop_proof``).

    Header names from ASGI servers are lower case; the first of repeated headers wins.
    """

    __slots__ = ("_headers_in", "_request", "caller", "client", "client_authenticated", "dpop_jkt",
                 "form",
                 "grant", "headers", "params", "receive", "scope", "server")

    def __init__(self, *, server: ServerState, request: Request | None = None,
                 scope: Scope | None = None, receive: Receive | None = None) -> None:
        if request is not None:
            scope, receive = request.scope, request.receive
        if scope is None or receive is None:
            raise TypeError("Context needs a request, or a scope and a receive callable")
        self.server = server
        self.scope = scope
        self.receive = receive
        self._request = request
        self.form: dict[str, list[str]] = {}
        self.params: dict[str, str] = {}
        self.client: ClientRecord | None = None
        self.client_authenticated = False
        self.headers: dict[str, str] = {}
        self.grant: GrantHandler | None = None
        self.caller: Caller | None = None
        self.dpop_jkt: str | None = None
        self._headers_in: dict[str, str] | None = None

    @property
    def request(self) -> Request:
        """The Starlette request (made on first use when the context came from ASGI)."""
        if self._request is None:
            self._request = Request(self.scope, self.receive)
        return self._request

    def header(self, name: str) -> str | None:
        """A request header by lower-case name (one pass over the raw headers, cached)."""
        found = self._headers_in
        if found is None:
            found = self._headers_in = {
                key.decode("latin-1"): value.decode("latin-1")
                for key, value in reversed(self.scope["headers"])}
        return found.get(name)

    def respond(self, body: Any, status_code: int = 200) -> Response:
        """A JSON response carrying ``headers`` (built in once, cheaper than adding later)."""
        response = JSONResponse(body, status_code=status_code, headers=self.headers)
        self.headers = {}
        return response

    def require_caller(self) -> Caller:
        """The user set by ``bearer_user`` (a programming error if absent)."""
        if self.caller is None:
            raise RuntimeError("bearer_user must run before this step")
        return self.caller

    def require_client(self) -> ClientRecord:
        """The client set by ``client_auth`` (a programming error if absent)."""
        if self.client is None:
            raise RuntimeError("client_auth must run before this step")
        return self.client
