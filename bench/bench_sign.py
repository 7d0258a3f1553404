"""Micro-benchmark: µs per token sign (ours vs the raw cryptography signature) and verify.

Columns: the raw signature, our compact-JWS sign, its overhead, claims + sign, the
server's PyJWT verification (introspection), the raw ``cryptography`` verification, and
the guard's cold ``authenticate`` (a new token each call: compact-form and claim checks,
PyJWT's pinned algorithm object, auth-context entry, memory limiter; no HTTP).

Run: ``python bench/bench_sign.py`` (or ``python bench/run.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from scopegate.guard import Authenticator, GuardConfig, JWKSCache, RateLimit, SigningKey
from scopegate.ratelimit import MemoryRateLimiter
from scopegate.scopes import default_catalog
from scopegate.tokens import JwsSigner, TokenVerifier, access_token_claims, generate_key

ISS = "https://issuer.example"


def per_call_us(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Median of five timed batches, in µs per call."""
    n = 200
    while True:  # size a batch to ~seconds/5
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - start > seconds / 5:
            break
        n *= 2
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return sorted(samples)[2]


def main() -> None:
    print("sign/verify per token (µs, median of 5 batches)")
    print(f"{'alg':6} {'raw sig':>8} {'our sign':>9} {'overhead':>9} {'claims+sign':>12} "
          f"{'verify':>8} {'raw verify':>10} {'guard cold':>10}")
    for alg in ("ES256", "EdDSA"):
        measure(alg)


def measure(alg: str) -> None:
    """Print one row of figures for ``alg``."""
    key = generate_key(alg)
    signer = JwsSigner(key)
    verifier = TokenVerifier([key], ISS)
    claims = access_token_claims(issuer=ISS, subject="svc", subject_type="service",
                                 client_id="sgc_0123456789abcdef0123",
                                 audience=("https://api.scopegate.example",),
                                 scopes=["api", "apps:read"], ttl=3600)
    payload = b"x" * 330  # about the size of a real signing input
    private = key.private_key
    if isinstance(private, ec.EllipticCurvePrivateKey):
        algo = ec.ECDSA(hashes.SHA256())
        raw = per_call_us(lambda: private.sign(payload, algo))
    else:
        assert isinstance(private, ed25519.Ed25519PrivateKey)
        raw = per_call_us(lambda: private.sign(payload))
    ours = per_call_us(lambda: signer.sign(claims, typ="at+jwt"))

    def full() -> str:
        c = access_token_claims(issuer=ISS, subject="svc", subject_type="service",
                                client_id="sgc_0123456789abcdef0123",
                                audience=("https://api.scopegate.example",),
                                scopes=["api", "apps:read"], ttl=3600)
        return signer.sign(c, typ="at+jwt")

    full_us = per_call_us(full)
    token = signer.sign(claims, typ="at+jwt")
    verify = per_call_us(lambda: verifier.verify(token))
    public = key.private_key.public_key()
    head, _, sig = token.rpartition(".")
    algorithm = jwt.PyJWS().get_algorithm_by_name(alg)
    signature = jwt.utils.base64url_decode(sig)
    if isinstance(public, ec.EllipticCurvePublicKey):
        der = jwt.utils.raw_to_der_signature(signature, public.curve)
        ecdsa = ec.ECDSA(hashes.SHA256())
        raw_verify = per_call_us(lambda: public.verify(der, head.encode(), ecdsa))
    else:
        raw_verify = per_call_us(lambda: algorithm.verify(head.encode(), public, signature))
    cold = guard_cold_us(alg, signer, SigningKey(key.kid, alg, public, algorithm))
    print(f"{alg:6} {raw:8.1f} {ours:9.1f} {ours - raw:+9.1f} {full_us:12.1f} "
          f"{verify:8.1f} {raw_verify:10.1f} {cold:10.1f}")


class _KnownKeys(JWKSCache):
    """The issuer's keys, already fetched (the bench measures verification, not HTTP)."""

    def __init__(self, key: SigningKey) -> None:
        super().__init__(None, issuer=ISS)  # type: ignore[arg-type]  # never fetches
        self._key = key

    async def get(self, kid: str) -> SigningKey:
        return self._key


def guard_cold_us(alg: str, signer: JwsSigner, key: SigningKey, count: int = 3000) -> float:
    """µs per guard ``authenticate`` of a token it has not seen (cache miss, memory limiter)."""
    tokens = [signer.sign(access_token_claims(
        issuer=ISS, subject=f"user-{i}", subject_type="user", client_id="cli",
        audience=("https://api.scopegate.example",), scopes=["apps:read"], ttl=3600),
        typ="at+jwt") for i in range(count)]
    config = GuardConfig(issuer=ISS, audience="https://api.scopegate.example",
                         rate_limit=RateLimit(100_000, 60.0), cache_max_entries=count)

    async def run() -> float:
        auth = Authenticator(config, catalog=default_catalog(),
                             limiter=MemoryRateLimiter(), jwks=_KnownKeys(key),
                             http=_NoHttp())
        for token in tokens[:200]:  # warm-up
            await auth.authenticate(token)
        start = time.perf_counter()
        for token in tokens[200:]:
            await auth.authenticate(token)
        return (time.perf_counter() - start) / (count - 200) * 1e6

    return asyncio.run(run())


class _NoHttp:
    """Stands in for the HTTP client: nothing is fetched in this bench."""

    async def aclose(self) -> None:
        return None



if __name__ == "__main__":
    main()
