"""Using a pushed authorization request (RFC 9126 §4) at the authorization endpoint.

``/oauth/authorize?client_id=…&request_uri=…`` stands for the parameters pushed
before: they are read from the database (every replica sees them) and checked again
exactly as a request sent in the URL would be. Other parameters in the URL are ignored
(§4: only the pushed ones count). The ``request_uri`` must be known, issued to this
``client_id``, unused and, at the browser's first arrival, within ``par_ttl``; that first
arrival gives it :data:`SIGN_IN_WINDOW_S` for the sign-in and consent pages, and the
decision (a code, a denial or an error sent back) uses it up, atomically.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from ...store.models import utcnow
from ..shared.user_grants import hash_secret
from .authorization_request import PageError

if TYPE_CHECKING:
    from ...store.repositories import ClientRecord
    from ..state import ServerState

__all__ = ["REQUEST_URI_PREFIX", "REQUIRE_PUSHED", "SIGN_IN_WINDOW_S", "must_push",
           "pushed_params", "spend"]

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
REQUIRE_PUSHED = "require_pushed_authorization_requests"  # client metadata, RFC 9126 §6
SIGN_IN_WINDOW_S = 600  # as long as a pending consent lasts
_MAX_REQUEST_URI = len(REQUEST_URI_PREFIX) + 64
_INVALID = "invalid_request_uri"  # RFC 9101 §6.2, as node-oidc-provider answers


def must_push(client: ClientRecord) -> bool:
    """Whether this client registered ``require_pushed_authorization_requests``."""
    return client.client_metadata.get(REQUIRE_PUSHED) is True


async def pushed_params(state: ServerState, query: dict[str, str]
                        ) -> tuple[dict[str, str], str | None]:
    """The request's parameters, and the pushed request's hash (None if not pushed).

    :raises PageError: ``invalid_request_uri``: unknown, another client's, used or expired.
    """
    request_uri = query.get("request_uri")
    if request_uri is None:
        return query, None
    if not request_uri.startswith(REQUEST_URI_PREFIX) or len(request_uri) > _MAX_REQUEST_URI:
        raise PageError("request_uri is not one this server issued", _INVALID)
    digest = hash_secret(request_uri)
    now = utcnow()
    record = await run_in_threadpool(state.user_grants.pushed.open, digest, now,
                                     timedelta(seconds=SIGN_IN_WINDOW_S))
    if record is None or record.client_id != query.get("client_id"):
        raise PageError("request_uri is unknown or was pushed by another client", _INVALID)
    if record.used:
        raise PageError("this request_uri was already used: push the request again",
                        _INVALID)
    if record.expires_at <= now:
        raise PageError("this request_uri has expired: push the request again", _INVALID)
    return dict(record.params), digest


async def spend(state: ServerState, pushed: str | None) -> bool:
    """Use up a pushed request as its authorization is decided; False if already used.

    True for a request that was not pushed (nothing to use up).
    """
    if pushed is None:
        return True
    return await run_in_threadpool(state.user_grants.pushed.use, pushed, utcnow())
