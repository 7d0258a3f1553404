"""The steps every form-posting client endpoint starts with (token, revocation,
introspection, device authorization), in node-oidc-provider's order."""

from __future__ import annotations

from .action import Step
from .client_auth import client_auth
from .form import parse_form
from .no_store import no_store
from .reject_duplicates import reject_duplicates

__all__ = ["client_request"]


def client_request(*, allow_public: bool = False) -> list[Step]:
    """No-store answer (RFC 6749 §5.1), a size-limited form, no repeated parameter
    (§3.1), then client authentication (§2.3; a public client may only name itself)."""
    return [no_store, parse_form, reject_duplicates(), client_auth(allow_public=allow_public)]
