"""Which user-code lookups on the device page are guesses, and how they are counted.

A lookup is counted per session, per user and per client address before the database is
asked, and un-counted by the caller when the code is valid, so only wrong codes add up
(:mod:`..throttle`). The confirmation page carries a signed proof that this session
entered that valid code; Allow or Deny with it is no guess and skips the counters.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request

from ..pages.sessions import BrowserSession
from ..pages.throttle import Backoff, Ticket, client_address
from ..shared.user_grants import hash_secret

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["confirm_proof", "proven", "reserve_guess"]

_CONFIRM_SALT = "scopegate.device-confirm"


def confirm_proof(state: ServerState, session: BrowserSession, code: str) -> str:
    """Signed into the confirmation page: this session has entered this valid code."""
    return state.user_grants.sessions.sign({"c": code, "s": hash_secret(session.csrf)},
                                            salt=_CONFIRM_SALT)


def proven(state: ServerState, session: BrowserSession, code: str | None,
           proof: str | None) -> bool:
    """Whether ``proof`` came from a confirmation page this session was shown for ``code``."""
    if code is None or not proof:
        return False
    data = state.user_grants.sessions.unsign(proof, _CONFIRM_SALT,
                                              max_age_s=state.settings.device_code_ttl)
    return (data is not None and data.get("c") == code
            and hmac.compare_digest(str(data.get("s")), hash_secret(session.csrf)))


async def reserve_guess(state: ServerState, request: Request,
                        session: BrowserSession) -> Ticket:
    """Count one code lookup per session, user and address, unless one must wait."""
    limits = state.user_grants.limits
    per_session = Backoff(limits.code_lookups_per_session, 1.0, limits.window_s,
                          limits.window_s)
    per_address = Backoff(limits.code_lookups_per_ip, 1.0, limits.window_s, limits.window_s)
    return await state.user_grants.throttle.reserve((
        (f"code:session:{hash_secret(session.csrf)[:32]}", per_session),
        (f"code:user:{session.user_id}", per_session),
        (f"code:addr:{client_address(request)}", per_address)))
