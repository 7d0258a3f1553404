"""DPoP at the resource server (RFC 9449 §7): a bound token only with a proof of its key.

The adapters read the request's credentials into a :class:`Presentation` (the
``Authorization`` scheme, the one ``DPoP`` header, the URL as the client called it); the
authenticator calls :meth:`GuardDPoP.check` after the token is known (cached or not), so
a cache hit costs one proof signature check and one replay-cache write, nothing more. A
token bound to a key (``cnf.jkt``) sent as ``Bearer`` is refused; so is an unbound one
sent as ``DPoP``. Refusals are 401s with a ``DPoP`` challenge (RFC 9449 §7.1).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any, NamedTuple

from scopegate.errors import InvalidToken
from scopegate.tokens import (
    DPOP_ALGS,
    MAX_PROOF_LENGTH,
    InvalidDPoPProof,
    NonceSource,
    ReplayCache,
    ReplayCacheUnavailable,
    UseDPoPNonce,
    verify_proof,
)

from .config import GuardConfig
from .context import AuthContext
from .errors import UpstreamUnavailable

__all__ = ["DPoPBindingError", "GuardDPoP", "Presentation", "ResourceDPoPError",
           "ResourceNonceError",
           "make_presentation", "parse_dpop", "presentation"]

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def dpop_challenge(algs: Iterable[str], realm: str | None = None, **params: str) -> str:
    """An RFC 9449 §7.1 ``WWW-Authenticate: DPoP algs="…", …`` value."""
    def quote(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"')

    parts = [f'realm="{quote(realm)}"'] if realm else []
    parts.append(f'algs="{" ".join(algs)}"')
    parts += [f'{key}="{quote(value)}"' for key, value in params.items() if value]
    return "DPoP " + ", ".join(parts)


class Presentation(NamedTuple):
    """How the request presented its token: ``Authorization`` scheme, proof, method, URL."""

    scheme: str  # "bearer" or "dpop"
    proof: str | None
    method: str
    url: str


class ResourceDPoPError(InvalidDPoPProof):
    """RFC 9449 §7.1 at a resource: 401 with a ``DPoP`` challenge naming the error."""

    status_code = 401

    def __init__(self, description: str, *, realm: str | None = None, **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.headers["WWW-Authenticate"] = dpop_challenge(
            DPOP_ALGS, realm, error=self.error, error_description=description)


class DPoPBindingError(InvalidToken):
    """RFC 9449 §7.1 ``invalid_token``: the token's binding and its presentation disagree
    (a bound token as ``Bearer``, an unbound one as ``DPoP``); 401, ``DPoP`` challenge."""

    def __init__(self, description: str, *, realm: str | None = None) -> None:
        super().__init__(description, realm=realm)
        self.headers["WWW-Authenticate"] = dpop_challenge(
            DPOP_ALGS, realm, error=self.error, error_description=description)


class ResourceNonceError(UseDPoPNonce):
    """RFC 9449 §9: 401, ``DPoP error="use_dpop_nonce"`` and the nonce in ``DPoP-Nonce``."""

    status_code = 401

    def __init__(self, nonce: str, realm: str | None = None) -> None:
        description = "this API requires a DPoP nonce: send the proof again with DPoP-Nonce"
        super().__init__(nonce, description)
        self.headers["WWW-Authenticate"] = dpop_challenge(
            DPOP_ALGS, realm, error=self.error, error_description=description)


def parse_dpop(header: str | None) -> str | None:
    """The token of an ``Authorization: DPoP <token>`` value (RFC 9449 §7.1), else None."""
    if not header or len(header) < 6 or header[4] != " " or header[:4].lower() != "dpop":
        return None
    return header[5:].strip() or None


def presentation(scope: Any, authorization_scheme: str, proofs: list[bytes],
                 config: GuardConfig | None) -> Presentation:
    """Read an ASGI request's DPoP facts; the URL is ``config.public_url`` (the API as
    clients call it, behind a proxy), else the scope's scheme and ``Host`` header.

    :raises ResourceDPoPError: two ``DPoP`` headers, or one over the size limit.
    """
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    if not host and scope.get("server"):
        host, port = scope["server"][0], str(scope["server"][1])
        host = host if _DEFAULT_PORTS.get(scope["scheme"]) == port else f"{host}:{port}"
    return make_presentation(authorization_scheme, [p.decode("latin-1") for p in proofs],
                             scope["method"], f"{scope['scheme']}://{host}",
                             scope.get("root_path", "") + scope["path"], config)


def make_presentation(scheme: str, proofs: list[str], method: str, base: str, path: str,
                      config: GuardConfig | None) -> Presentation:
    """A :class:`Presentation` from any framework's request: ``base`` is its scheme and
    host, replaced by ``config.public_url`` when set.

    :raises ResourceDPoPError: two ``DPoP`` headers, or one over the size limit.
    """
    realm = config.realm if config is not None else None
    if len(proofs) > 1:
        raise ResourceDPoPError("send one DPoP header, not several", realm=realm)
    if proofs and len(proofs[0]) > MAX_PROOF_LENGTH:
        raise ResourceDPoPError(f"the DPoP proof is longer than {MAX_PROOF_LENGTH} characters",
                                realm=realm)
    if config is not None and config.public_url is not None:
        base = config.public_url
    return Presentation(scheme, proofs[0] if proofs else None, method, base + path)


class GuardDPoP:
    """The resource server's proof checks, replay cache and (optional) nonces.

    :param config: ``realm``, ``leeway_s``, ``dpop_max_age_s`` and ``dpop_nonce_secret``.
    :param replay: remembers proof ids (shared in Redis across replicas when configured).
    """

    def __init__(self, config: GuardConfig, replay: ReplayCache) -> None:
        self.realm = config.realm
        self.leeway_s = config.leeway_s
        self.max_age_s = config.dpop_max_age_s
        self.replay = replay
        secret = config.dpop_nonce_secret
        self.nonces = None if secret is None else NonceSource(
            hmac.new(secret.encode(), b"dpop-nonce", hashlib.sha256).digest(),
            window_s=self.max_age_s)
        self.checks = 0  # proof signatures checked (the bench reads it)

    @classmethod
    def from_config(cls, config: GuardConfig) -> GuardDPoP:
        """In memory, or in Redis when ``redis_url`` is set (one ``SET NX EX`` a proof)."""
        redis: Any = None
        if config.redis_url:
            import redis.asyncio as redis_async  # only a guard configured with Redis needs it

            redis = redis_async.Redis.from_url(config.redis_url, socket_timeout=2.0,
                                               socket_connect_timeout=2.0)
        namespace = f"scopegate:dpop:{config.audience or config.issuer}"
        return cls(config, ReplayCache(config.dpop_max_age_s + 2 * config.leeway_s,
                                       redis=redis, namespace=namespace))

    def _refuse(self, description: str) -> ResourceDPoPError:
        return ResourceDPoPError(description, realm=self.realm)

    async def check(self, entry: AuthContext, token: str, shown: Presentation | None) -> None:
        """Let the request through only if it presents the token as its binding says.

        :raises ResourceDPoPError: a bound token without a valid, fresh proof of its key,
            or an unbound token presented as DPoP.
        :raises ResourceNonceError: nonces are on and the proof lacks a current one.
        """
        jkt = entry.dpop_jkt
        if shown is None or shown.scheme != "dpop":
            if jkt is not None:
                raise DPoPBindingError("this access token is DPoP-bound: send it with "
                                       "Authorization: DPoP and a DPoP proof", realm=self.realm)
            return
        if jkt is None:
            raise DPoPBindingError("this access token is not DPoP-bound: send it as Bearer",
                                   realm=self.realm)
        if shown.proof is None:
            raise self._refuse("a DPoP-bound token needs a DPoP proof header")
        self.checks += 1
        try:
            proof = verify_proof(shown.proof, method=shown.method, url=shown.url,
                                 access_token=token, max_age_s=self.max_age_s,
                                 leeway_s=self.leeway_s)
        except InvalidDPoPProof as exc:  # the shared checker's 400, as a resource's 401
            raise ResourceDPoPError(exc.description, realm=self.realm,
                                    detail=exc.detail) from None
        if not hmac.compare_digest(proof.jkt, jkt):
            raise self._refuse("the DPoP proof is signed by another key than the token's")
        if self.nonces is not None and not self.nonces.valid(proof.nonce):
            raise ResourceNonceError(self.nonces.current(), self.realm)
        try:
            first = await self.replay.first_use(proof.jkt, proof.jti)
        except ReplayCacheUnavailable as exc:
            raise UpstreamUnavailable("DPoP replay cache unavailable", detail=str(exc)) from None
        if not first:
            raise self._refuse("this DPoP proof was already used; sign a new one per request")

    async def aclose(self) -> None:
        """Close the replay cache's Redis client, if any."""
        await self.replay.aclose()
