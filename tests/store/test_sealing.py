"""Sealing under a key-encryption key: AES-256-GCM, the KEK id stored with each value, the
row named in the associated data, and a list of KEKs where the first seals and all open."""

from __future__ import annotations

import base64
import os

import pytest

from scopegate.store.sealing import KekRing, SealError, generate_kek, is_sealed


def test_a_sealed_value_opens_only_for_its_own_row() -> None:
    ring = KekRing.parse(generate_kek(), "SCOPEGATE_KEK")
    sealed = ring.seal("the pepper", "server_secrets/client_secret_pepper")
    assert is_sealed(sealed) and "pepper" not in sealed
    assert ring.primary.id in sealed  # which KEK sealed it is stored with it
    assert ring.open(sealed, "server_secrets/client_secret_pepper") == "the pepper"
    with pytest.raises(SealError, match="server_secrets/session_secret"):
        ring.open(sealed, "server_secrets/session_secret")  # moved to another row


def test_another_kek_cannot_open_and_says_which_kek_sealed_it() -> None:
    mine = KekRing.parse(generate_kek(), "SCOPEGATE_KEK")
    theirs = KekRing.parse(generate_kek(), "SCOPEGATE_KEK_FILE")
    sealed = mine.seal("secret", "row")
    with pytest.raises(SealError, match=mine.primary.id):
        theirs.open(sealed, "row")


def test_the_first_kek_seals_and_the_old_ones_still_open() -> None:
    old, new = generate_kek(), generate_kek()
    sealed_before = KekRing.parse(old, "x").seal("secret", "row")
    rotated = KekRing.parse(f"{new},{old}", "SCOPEGATE_KEK")
    assert rotated.open(sealed_before, "row") == "secret"
    assert rotated.seal("secret", "row").split(":")[2] == KekRing.parse(new, "x").primary.id
    assert rotated.sealed_by(sealed_before) == KekRing.parse(old, "x").primary.id


def test_a_file_may_list_keys_one_a_line_with_comments() -> None:
    old, new = generate_kek(), generate_kek()
    ring = KekRing.parse(f"# current\n{new}\n\n# previous\n{old}\n", "kek.txt")
    assert len(ring.ids) == 2 and ring.primary.id == KekRing.parse(new, "x").primary.id


def test_standard_base64_as_openssl_prints_it_is_accepted() -> None:
    raw = os.urandom(32)
    standard = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert KekRing.parse(standard, "x").primary.id == KekRing.parse(url, "x").primary.id


@pytest.mark.parametrize("bad", ["", "not base64!", base64.b64encode(os.urandom(16)).decode(),
                                 "c2VjcmV0"])
def test_a_malformed_kek_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(SealError, match="SCOPEGATE_KEK") as caught:
        KekRing.parse(bad, "SCOPEGATE_KEK")
    if bad:
        assert bad not in str(caught.value)


def test_cleartext_and_tampered_values_do_not_open() -> None:
    ring = KekRing.parse(generate_kek(), "x")
    with pytest.raises(SealError, match="in the clear"):
        ring.open("-----BEGIN PRIVATE KEY-----", "row")
    sealed = ring.seal("secret", "row")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealError):
        ring.open(flipped, "row")
