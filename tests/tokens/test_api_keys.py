"""API key format: generation, parsing, checksum and hashing."""

from __future__ import annotations

import math
import re
import zlib

import pytest

from scopegate.tokens.api_keys import (
    BASE62_ALPHABET,
    KEY_ID_LENGTH,
    SECRET_LENGTH,
    MalformedApiKey,
    checksum_ok,
    generate_api_key,
    hash_api_key,
    hash_matches,
    parse_api_key,
    validate_prefix,
)


def test_generated_key_has_prefix_random_and_checksum() -> None:
    new = generate_api_key("sg")
    assert re.fullmatch(r"sg_[0-9A-Za-z]{42}_[0-9A-Za-z]{6}", new.key)
    parts = parse_api_key(new.key, prefix="sg")
    assert parts.key_id == new.key_id
    assert new.key.startswith(f"sg_{new.key_id}")
    # The secret part alone carries at least 160 bits.
    assert SECRET_LENGTH * math.log2(62) >= 160
    assert len(parts.secret) == SECRET_LENGTH and len(parts.key_id) == KEY_ID_LENGTH


def test_checksum_is_crc32_of_prefix_and_random_in_base62() -> None:
    new = generate_api_key("acme")
    prefix, random_part, checksum = new.key.split("_")
    value = 0
    for char in checksum:
        value = value * 62 + BASE62_ALPHABET.index(char)
    assert value == zlib.crc32(f"{prefix}_{random_part}".encode())


def test_keys_are_unique_and_only_the_hash_is_kept() -> None:
    keys = {generate_api_key().key for _ in range(200)}
    assert len(keys) == 200
    new = generate_api_key()
    assert new.key_hash == hash_api_key(new.key)
    assert new.key not in repr(new)
    assert new.key_hash != new.key and len(new.key_hash) == 64


@pytest.mark.parametrize("position", [3, 10, 20, 44, 49])
def test_one_changed_character_fails_the_checksum(position: int) -> None:
    key = generate_api_key().key
    char = key[position]
    replacement = "A" if char != "A" else "B"
    typo = key[:position] + replacement + key[position + 1 :]
    assert not checksum_ok(typo)
    with pytest.raises(MalformedApiKey):
        parse_api_key(typo)


@pytest.mark.parametrize(
    "value",
    ["", "sg_", "Bearer sg_x", "sg_abc_def", "x" * 5000, "SG_" + "a" * 42 + "_aaaaaa", "sg-x"],
)
def test_malformed_strings_are_not_keys(value: str) -> None:
    assert not checksum_ok(value)


def test_truncated_key_is_rejected() -> None:
    key = generate_api_key().key
    assert not checksum_ok(key[:-1])
    assert not checksum_ok(key + "x")


def test_prefix_must_match_when_given() -> None:
    key = generate_api_key("other").key
    assert checksum_ok(key)
    assert not checksum_ok(key, prefix="sg")


def test_rotation_keeps_the_public_id_with_a_new_secret() -> None:
    first = generate_api_key()
    second = generate_api_key(key_id=first.key_id)
    assert second.key_id == first.key_id and second.key != first.key
    with pytest.raises(ValueError):
        generate_api_key(key_id="short")


def test_hash_comparison() -> None:
    new = generate_api_key()
    assert hash_matches(new.key, new.key_hash)
    assert not hash_matches(generate_api_key().key, new.key_hash)


@pytest.mark.parametrize("prefix", ["", "Sg", "s_g", "1sg", "a" * 17])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        validate_prefix(prefix)
