"""The token endpoint's DPoP step (RFC 9449 §5): check the proof, remember its key.

A request with one valid ``DPoP`` header gets tokens bound to the proof's key; one without
gets bearer tokens, unless its client registered ``dpop_bound_access_tokens`` (§5.2).
With ``dpop_nonce`` on, a proof must carry a recent server nonce (§8): nonces are derived
from the time and the server's session secret, so every replica accepts them, and each
answer carries the current one in ``DPoP-Nonce``. A proof's ``jti`` is accepted once
(§11.1), per process or across replicas in Redis.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from ...errors import TemporarilyUnavailable
from ...tokens import (
    MAX_PROOF_LENGTH,
    InvalidDPoPProof,
    NonceSource,
    ReplayCache,
    ReplayCacheUnavailable,
    UseDPoPNonce,
    verify_proof,
)
from ..shared.context import Context

if TYPE_CHECKING:
    from ..config.settings import Settings

__all__ = ["PROOF_MAX_AGE_S", "TokenEndpointDPoP", "dpop_proof", "one_dpop_header"]

PROOF_MAX_AGE_S = 300.0  # a proof is accepted this long after its iat (plus leeway)
LEEWAY_S = 30.0


def one_dpop_header(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The request's one ``DPoP`` header value, None without one.

    :raises InvalidDPoPProof: two ``DPoP`` headers, or one over the size limit.
    """
    found = [value for name, value in headers if name == b"dpop"]
    if len(found) > 1:
        raise InvalidDPoPProof("send one DPoP header, not several")
    if not found:
        return None
    if len(found[0]) > MAX_PROOF_LENGTH:
        raise InvalidDPoPProof(f"the DPoP proof is longer than {MAX_PROOF_LENGTH} characters")
    return found[0].decode("latin-1")


class TokenEndpointDPoP:
    """What the token endpoint needs for DPoP: its URL, nonces and the replay cache.

    :param url: the token endpoint's public URL (``htu``), from the issuer.
    :param nonces: the nonce source when ``dpop_nonce`` is on, else None.
    :param replay: remembers proof ids (pass one sharing Redis across replicas).
    """

    def __init__(self, url: str, nonces: NonceSource | None, replay: ReplayCache) -> None:
        self.url = url
        self.nonces = nonces
        self.replay = replay

    @classmethod
    def from_settings(cls, settings: Settings, session_secret: str, path: str) -> TokenEndpointDPoP:
        """Built at start-up: nonces keyed off the session secret, Redis when configured."""
        nonces = None
        if settings.dpop_nonce:
            key = hmac.new(session_secret.encode(), b"dpop-nonce", hashlib.sha256).digest()
            nonces = NonceSource(key, window_s=PROOF_MAX_AGE_S)
        redis: Any = None
        if settings.redis_url:
            import redis.asyncio as redis_async  # the server extra ships it

            redis = redis_async.Redis.from_url(settings.redis_url, socket_timeout=2.0,
                                               socket_connect_timeout=2.0)
        replay = ReplayCache(PROOF_MAX_AGE_S + 2 * LEEWAY_S, redis=redis,
                             namespace=f"scopegate:dpop:{settings.issuer}{path}")
        return cls(settings.issuer + path, nonces, replay)

    async def check(self, proof: str) -> str:
        """The thumbprint of a valid, fresh, first-seen proof's key.

        :raises InvalidDPoPProof: the proof is invalid or was seen before.
        :raises UseDPoPNonce: nonces are on and the proof lacks a current one.
        """
        checked = verify_proof(proof, method="POST", url=self.url, max_age_s=PROOF_MAX_AGE_S,
                               leeway_s=LEEWAY_S)
        if self.nonces is not None and not self.nonces.valid(checked.nonce):
            raise UseDPoPNonce(self.nonces.current(), "this server requires a DPoP nonce: "
                               "send the proof again with the one in DPoP-Nonce")
        try:
            first = await self.replay.first_use(checked.jkt, checked.jti)
        except ReplayCacheUnavailable as exc:
            raise TemporarilyUnavailable(detail=f"DPoP replay cache: {exc}") from None
        if not first:
            raise InvalidDPoPProof("this DPoP proof was already used; sign a new one per request")
        return checked.jkt


async def dpop_proof(ctx: Context) -> Response | None:
    """Token endpoint step: read and check the ``DPoP`` proof; set ``ctx.dpop_jkt``."""
    dpop: TokenEndpointDPoP | None = ctx.server.dpop
    if dpop is None:
        return None
    if dpop.nonces is not None:
        ctx.headers["DPoP-Nonce"] = dpop.nonces.current()
    proof = one_dpop_header(ctx.scope["headers"])
    if proof is None:
        if ctx.require_client().client_metadata.get("dpop_bound_access_tokens") is True:
            raise InvalidDPoPProof("this client is registered to use DPoP "
                                   "(dpop_bound_access_tokens): send a DPoP proof")
        return None
    ctx.dpop_jkt = await dpop.check(proof)
    return None
