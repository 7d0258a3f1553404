"""Client secrets: random, stored as a peppered HMAC, compared in constant time."""

from __future__ import annotations

from scopegate.tokens import (
    hash_client_secret,
    new_client_id,
    new_client_secret,
    verify_client_secret,
)


def test_secrets_are_long_random_and_prefixed() -> None:
    a, b = new_client_secret(), new_client_secret()
    assert a != b and a.startswith("sgcs_") and len(a) >= 40
    assert new_client_id() != new_client_id()


def test_hash_verifies_only_the_right_secret_under_the_right_pepper() -> None:
    secret = new_client_secret()
    stored = hash_client_secret("pepper", secret)
    assert secret not in stored
    assert verify_client_secret("pepper", secret, stored)
    assert not verify_client_secret("pepper", secret + "x", stored)
    assert not verify_client_secret("other-pepper", secret, stored)
    assert not verify_client_secret("pepper", secret, None)
