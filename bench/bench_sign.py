"""Micro-benchmark: µs per token sign (ours vs the raw cryptography signature) and verify.

Run: ``python bench/bench_sign.py`` (or ``python bench/run.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

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
          f"{'verify':>8}")
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
    print(f"{alg:6} {raw:8.1f} {ours:9.1f} {ours - raw:+9.1f} {full_us:12.1f} "
          f"{verify:8.1f}")


if __name__ == "__main__":
    main()
