"""The one DPoP proof checker (RFC 9449 §4.3), against proofs made with joserfc."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dpop_proofs import new_key, proof, thumbprint, unsigned
from scopegate.client._dpop import DPoPKey
from scopegate.tokens import (
    DPOP_ALGS,
    MAX_PROOF_LENGTH,
    InvalidDPoPProof,
    NonceSource,
    ReplayCache,
    jwk_thumbprint,
    normalize_htu,
    verify_proof,
)

URL = "https://api.example.com/v1/apps"
TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"


@pytest.mark.parametrize("alg", DPOP_ALGS)
def test_a_valid_proof_of_each_alg_gives_the_keys_thumbprint(alg: str) -> None:
    key = new_key("RS256" if alg.startswith(("RS", "PS")) else alg)
    checked = verify_proof(proof(key, "GET", URL, alg=alg, access_token=TOKEN),
                           method="GET", url=URL, access_token=TOKEN)
    assert checked.jkt == thumbprint(key)


def test_the_sdk_proof_verifies_and_its_thumbprint_agrees_with_joserfc() -> None:
    from joserfc.jwk import ECKey

    key = DPoPKey.generate()
    checked = verify_proof(key.proof("POST", URL + "?q=1#f", access_token=TOKEN),
                           method="POST", url=URL, access_token=TOKEN)
    assert checked.jkt == key.jkt == ECKey.import_key(key.jwk).thumbprint()
    assert jwk_thumbprint(key.jwk) == key.jkt


def test_htu_is_compared_normalised() -> None:
    assert normalize_htu("HTTPS://API.Example.com:443/v1/apps?x=1#y") == URL
    assert normalize_htu("http://h:80/p") == "http://h/p"
    assert normalize_htu("http://h:8080/p") == "http://h:8080/p"
    key = new_key()
    verify_proof(proof(key, "GET", "https://API.example.com:443/v1/apps"), method="GET",
                 url=URL)


def _bad(key: Any) -> dict[str, str]:
    """Each a proof wrong in one way, and the sentence's telling words."""
    other = new_key()
    now = int(time.time())
    jwk = key.as_dict(private=False)
    return {
        "another method": proof(key, "POST", URL, access_token=TOKEN),
        "another URL": proof(key, "GET", "https://api.example.com/v1/other",
                             access_token=TOKEN),
        "iat": proof(key, "GET", URL, access_token=TOKEN, iat=now - 3600),
        "iat ": proof(key, "GET", URL, access_token=TOKEN, iat=now + 3600),
        "ath": proof(key, "GET", URL, access_token="another.token.x"),
        "ath ": proof(key, "GET", URL),
        "typ": proof(key, "GET", URL, access_token=TOKEN, typ="JWT"),
        "alg is not": unsigned({"alg": "none", "typ": "dpop+jwt", "jwk": jwk},
                               {"jti": "a", "htm": "GET", "htu": URL, "iat": now}),
        "alg is not ": unsigned({"alg": "HS256", "typ": "dpop+jwt", "jwk": jwk},
                                {"jti": "a", "htm": "GET", "htu": URL, "iat": now}, b"k" * 32),
        "private key": proof(key, "GET", URL, access_token=TOKEN, jwk=key.as_dict(private=True)),
        "signature": proof(other, "GET", URL, access_token=TOKEN, jwk=jwk),
        "jti": proof(key, "GET", URL, access_token=TOKEN, jti=None),
        "longer than": "a" * (MAX_PROOF_LENGTH + 1),
        "compact JWS": "not a jws",
    }


@pytest.mark.parametrize("case", list(_bad(new_key())))
def test_every_bad_proof_is_invalid_dpop_proof_with_a_sentence(case: str) -> None:
    bad = _bad(new_key())[case]
    with pytest.raises(InvalidDPoPProof) as caught:
        verify_proof(bad, method="GET", url=URL, access_token=TOKEN)
    assert caught.value.error == "invalid_dpop_proof"
    assert case.strip() in caught.value.description


def test_an_es256_proof_with_a_p384_key_is_refused() -> None:
    from joserfc.jwk import ECKey

    jwk = ECKey.generate_key("P-384").as_dict(private=False)
    bad = unsigned({"alg": "ES256", "typ": "dpop+jwt", "jwk": jwk},
                   {"jti": "a", "htm": "GET", "htu": URL, "iat": int(time.time())}, b"k" * 32)
    with pytest.raises(InvalidDPoPProof, match="P-256"):
        verify_proof(bad, method="GET", url=URL)


def test_nonces_are_stateless_and_expire() -> None:
    nonces = NonceSource(b"s" * 32, window_s=60)
    now = 1_000_000.0
    nonce = nonces.current(now)
    assert nonces.valid(nonce, now) and nonces.valid(nonce, now + 60)
    assert not nonces.valid(nonce, now + 180)
    assert NonceSource(b"s" * 32, window_s=60).valid(nonce, now)  # another replica
    assert not NonceSource(b"t" * 32, window_s=60).valid(nonce, now)
    assert not nonces.valid(None, now) and not nonces.valid("x", now)


@pytest.mark.anyio
async def test_replay_cache_takes_a_jti_once_per_key() -> None:
    cache = ReplayCache(60)
    assert await cache.first_use("k1", "j")
    assert not await cache.first_use("k1", "j")
    assert await cache.first_use("k2", "j")
