"""A corpus of RFC 9068 access-token variants that every verifier of ours must judge alike.

``spellings`` gives other spellings and small corruptions of one compact JWS (padding,
non-canonical trailing bits, standard-alphabet characters, cut or doubled dots).
``header_and_claim_cases`` names header and claim changes, each minted and signed
properly, so only the claims policy can tell them apart. Used by the guard's
strictness test (against PyJWT's ``jwt.decode``) and by the test that holds the server's
introspection and the guard to the same verdicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

#: ``mint(header={...}, **claims)`` returns a token signed by the issuer's key;
#: a claim or header member given as None is left out.
Mint = Callable[..., str]


def spellings(token: str) -> list[str]:
    """Other spellings and small corruptions of a compact JWS."""
    header, payload, signature = token.split(".")
    parts = [header, payload, signature]
    out: list[str] = []
    for i, part in enumerate(parts):
        def swap(new: str, i: int = i) -> str:
            return ".".join(new if j == i else p for j, p in enumerate(parts))

        out += [swap(part + "="), swap(part + "=="), swap(part + "A"), swap(part[:-1]),
                swap(part[1:]), swap(part.replace("-", "+").replace("_", "/")),
                swap(part + " "), swap(part[:5] + "!" + part[6:])]
        last = ALPHABET.index(part[-1])
        for bit in (1, 2, 3):  # non-canonical trailing bits, then plain corruption
            out.append(swap(part[:-1] + ALPHABET[last ^ bit]))
        middle = len(part) // 2
        out.append(swap(part[:middle] + ALPHABET[ALPHABET.index(part[middle]) ^ 1]
                        + part[middle + 1:]))
    out += [header + "." + payload, token + ".", "." + token, token.replace(".", "..", 1)]
    return [v for v in out if v != token]


def header_and_claim_cases() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Named ``(header, claims)`` changes to a valid token, accepted ones included."""
    now = int(time.time())
    typs = ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt", "JWT", "jwt",
            "application/jwt", "at+jwt; charset=x", "", 1]  # "": PyJWT leaves typ out
    cases: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        f"typ={typ!r}": ({"typ": typ}, {}) for typ in typs}
    cases |= {
        "crit header": ({"crit": ["exp"]}, {}),
        "unencoded payload header": ({"crit": ["b64"], "b64": False}, {}),
        "no kid": ({"kid": None}, {}),
    }
    for name in ("iss", "exp", "iat", "sub", "client_id", "jti"):
        cases[f"no {name}"] = ({}, {name: None})
    wrong: list[tuple[str, Any]] = [
        ("jti", 42), ("sub", 7), ("client_id", 7), ("sub", ""), ("client_id", ""),
        ("exp", "9999999999"), ("exp", True), ("nbf", "0"), ("iat", "0"),
        ("iss", "https://evil.example"), ("subject_type", "robot"),
    ]
    cases |= {f"{name}={value!r}": ({}, {name: value}) for name, value in wrong}
    cases |= {
        "expired": ({}, {"exp": now - 600}),
        "not yet valid": ({}, {"nbf": now + 600}),
        "issued in the future": ({}, {"iat": now + 600}),
        "nbf in the past": ({}, {"nbf": now - 600}),
        "service subject": ({}, {"subject_type": "service"}),
        "no subject_type": ({}, {"subject_type": None}),
    }
    return cases


def corpus(mint: Mint) -> dict[str, str]:
    """Every variant by name: the header/claim cases, then the spellings of a valid token."""
    out = {name: mint(header=header, **claims)
           for name, (header, claims) in header_and_claim_cases().items()}
    out |= {f"spelling {i}": v for i, v in enumerate(spellings(mint()))}
    return out
