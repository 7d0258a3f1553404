"""The single source of identity and rate limit for every guarded request.

``Authenticator.authenticate`` verifies a bearer token (a JWT locally against the issuer's
JWKS, anything else through RFC 7662 introspection), caches the result by sha256(token),
applies the audience rollout mode, and counts exactly one hit on the per-token limiter.
Whether a route runs the full pipeline or a lighter dependency, both call it once.
"""

from __future__ import annotations

import binascii
import hashlib
import logging
import re
import time
from binascii import a2b_base64
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from scopegate.errors import InvalidToken, RateLimited, bearer_challenge
from scopegate.ratelimit import RateLimiter, RateLimiterUnavailable
from scopegate.scopes import Catalog, granted_from_claims

from .audience import record_missing_audience
from .cache import AuthCache
from .config import AudienceMode, GuardConfig, RateLimit
from .context import AuthContext, GuardContext, TokenKind
from .errors import MissingCredentials, UpstreamUnavailable
from .introspection import IntrospectionClient
from .jwks import JWKSCache

__all__ = ["Authenticator", "token_hash"]

log = logging.getLogger("scopegate.guard")

_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_JWT_TYPES = frozenset({"at+jwt", "application/at+jwt"})


_COMPACT_JWS = re.compile(rb"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_REQUIRED_CLAIMS = ("exp", "iat", "iss", "sub", "client_id")


# A canonical segment leaves the unused low bits of its last character zero (RFC 4648
# §3.5): with 2 characters left over only values 0, 16, 32, 48 may end it; with 3, only
# multiples of 4. (Strict-mode a2b_base64 does not check those bits.)
_CANONICAL_LAST = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}


def _b64url_decode(segment: bytes) -> bytes:
    """Decode one unpadded base64url segment strictly (RFC 7515 §2), in C.

    The caller's regular expression allows only the base64url alphabet; a segment must
    also be canonical, so one token has exactly one spelling, as PyJWT's own decoder
    demands (it checks each character in Python, ~25 µs a token).
    """
    left = len(segment) % 4
    if left == 1 or (left and segment[-1] not in _CANONICAL_LAST[left]):
        raise InvalidToken("malformed token")
    try:
        return a2b_base64(segment.translate(_TO_STANDARD) + b"=" * (-len(segment) % 4),
                          strict_mode=True)
    except binascii.Error:
        raise InvalidToken("malformed token") from None


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InvalidToken("malformed token") from None
    if not isinstance(value, dict):
        raise InvalidToken("malformed token")
    return value


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2: a JSON number), None when absent."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken("token rejected", detail=f"{name} is not a number")
    return float(value)


_SUBJECT_TYPES = frozenset({"user", "service"})


def token_hash(token: str) -> str:
    """Return sha256(token) as hex: the cache key and the rate-limit bucket key."""
    return hashlib.sha256(token.encode()).hexdigest()


class Authenticator:
    """Verifies bearer tokens, caches what they mean, and rate-limits them.

    :param config: the guard settings.
    :param catalog: expands granted scopes (implication, aliases) once per token.
    :param limiter: the per-token sliding-window limiter (memory or Redis).
    :param http: the async client for JWKS and introspection (one is created if None).
    :param failure_limiter: counts failed authentications per IP (defaults to ``limiter``).
    """

    def __init__(
        self,
        config: GuardConfig,
        *,
        catalog: Catalog,
        limiter: RateLimiter,
        http: httpx.AsyncClient | None = None,
        failure_limiter: RateLimiter | None = None,
        jwks: JWKSCache | None = None,
        introspection: IntrospectionClient | None = None,
        cache: AuthCache | None = None,
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.limiter = limiter
        self.failure_limiter = failure_limiter or limiter
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=config.http_timeout_s)
        self.cache = cache or AuthCache(config.cache_max_entries)
        self.jwks = jwks or JWKSCache(
            self.http,
            issuer=config.issuer,
            jwks_uri=config.jwks_uri,
            max_age_s=config.jwks_max_age_s,
            min_refetch_s=config.jwks_min_refetch_s,
        )
        self.introspection = introspection
        if introspection is None and config.client_id and config.client_secret:
            self.introspection = IntrospectionClient(
                self.http,
                endpoint=config.resolved_introspection_endpoint,
                client_id=config.client_id,
                client_secret=config.client_secret,
                negative_ttl_s=config.negative_ttl_s,
            )
        self.audience_mode = config.audience_mode  # a live switch, read per request
        self.verify_count = 0
        self._limit, self._window_s = config.rate_limit.limit, config.rate_limit.window_s

    # -- the one entry point ----------------------------------------------------------

    async def authenticate(
        self,
        token: str | None,
        *,
        client_ip: str | None = None,
        user_agent: str | None = None,
        rate: RateLimit | None = None,
    ) -> AuthContext:
        """Return the verified auth context of ``token`` after one rate-limit hit.

        :raises InvalidToken: missing, malformed, expired, revoked or wrong-audience token.
        :raises RateLimited: the token's budget (or the caller IP's failure budget) is spent.
        :raises UpstreamUnavailable: the keys or the introspection endpoint are unreachable.
        """
        if not token:
            raise MissingCredentials(self.config.realm)
        digest = hashlib.sha256(token.encode()).hexdigest()
        entry = self.cache.get(digest)
        if entry is None:
            entry = await self._verify_guarded(token, digest, client_ip)
        if not entry.audience_ok:
            self._on_missing_audience(entry, user_agent)
        if rate is None:
            key, limit, window_s = digest, self._limit, self._window_s
        else:
            key = f"{digest}:{rate.limit}/{rate.window_s:g}"  # a per-route budget: own bucket
            limit, window_s = rate.limit, rate.window_s
        try:
            decision = await self.limiter.hit(key, limit=limit, window_s=window_s)
        except RateLimiterUnavailable as exc:  # a bare Redis limiter with no fallback policy
            raise UpstreamUnavailable("rate limiter unavailable", detail=str(exc)) from None
        if not decision.allowed:
            raise RateLimited(decision.retry_after_ms)
        return entry

    async def authenticate_context(self, ctx: GuardContext) -> AuthContext:
        """Authenticate a request's context once; later calls reuse the result."""
        if ctx.auth is None:
            request = ctx.request
            ctx.auth = await self.authenticate(
                ctx.token,
                client_ip=request.client_ip,
                user_agent=request.user_agent,
                rate=ctx.route_limit,
            )
        return ctx.auth

    async def aclose(self) -> None:
        """Close the HTTP client if this authenticator created it."""
        if self._owns_http:
            await self.http.aclose()

    # -- verification (cache miss) ----------------------------------------------------

    async def _verify_guarded(self, token: str, digest: str, client_ip: str | None) -> AuthContext:
        """Verify on a cache miss; a failure may count against the caller's address.

        Every token is verified on its own merits: an address over its failure budget
        only turns its *failures* into 429s, so a valid token is never refused because
        of what others behind the same address (one NAT) sent.
        """
        try:
            entry = await self._verify(token, digest)
        except InvalidToken as exc:
            log.info("bearer token refused: %s", exc.detail or exc.description)
            await self._record_failure(client_ip)
            raise self._invalid(exc.description, exc.detail) from None
        self.cache.put(entry)
        return entry

    async def _verify(self, token: str, digest: str) -> AuthContext:
        if len(token) > self.config.max_token_length or not _B64TOKEN.fullmatch(token):
            raise InvalidToken("malformed bearer token")
        self.verify_count += 1
        if token.count(".") == 2:
            return await self._verify_jwt(token, digest)
        return await self._verify_opaque(token, digest)

    async def _verify_jwt(self, token: str, digest: str) -> AuthContext:
        """Verify a compact JWS access token (RFC 9068) and return its auth context.

        The signature is checked by PyJWT's algorithm object for the key's pinned ``alg``
        (``none`` and HMAC never reach a key: the JWKS holds asymmetric keys only). The
        compact form and claims are checked here as ``jwt.decode`` would, with one
        regular expression and ``binascii`` instead of PyJWT's per-character loop.
        """
        found = _COMPACT_JWS.fullmatch(token.encode("ascii"))
        if found is None:
            raise InvalidToken("malformed token")
        header = _json_object(_b64url_decode(found[1]))
        typ, kid = header.get("typ"), header.get("kid")
        if not isinstance(typ, str) or typ.lower() not in _JWT_TYPES:
            raise InvalidToken("not an access token", detail=f"typ={typ!r}")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token has no key id")
        if "crit" in header or "b64" in header:  # RFC 7515 §4.1.11: no extension is understood
            raise InvalidToken("token rejected", detail="unsupported critical header")
        key = await self.jwks.get(kid)
        if header.get("alg") != key.alg:
            raise InvalidToken("token algorithm not allowed", detail=f"alg={header.get('alg')!r}")
        signing_input = found.group(0)[:found.end(2)]
        if not key.verify(signing_input, _b64url_decode(found[3])):
            raise InvalidToken("token rejected", detail="signature verification failed")
        claims = _json_object(_b64url_decode(found[2]))
        self._check_claims(claims)
        return self._entry(claims, TokenKind.JWT, digest, self.config.cache_ttl_s)

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        """RFC 7519 §4.1 checks: required claims, ``iss``, ``exp``/``nbf``/``iat`` with leeway."""
        for name in _REQUIRED_CLAIMS:
            if claims.get(name) is None:
                raise InvalidToken("token rejected", detail=f"no {name} claim")
        if claims["iss"] != self.config.issuer:
            raise InvalidToken("token rejected", detail=f"iss={claims['iss']!r}")
        now, leeway = time.time(), self.config.leeway_s
        exp = _numeric_date(claims, "exp")
        if exp is not None and exp <= now - leeway:
            raise InvalidToken("token expired")
        nbf = _numeric_date(claims, "nbf")
        if nbf is not None and nbf > now + leeway:
            raise InvalidToken("token rejected", detail="not valid yet (nbf)")
        iat = _numeric_date(claims, "iat")
        if iat is not None and iat > now + leeway:
            raise InvalidToken("token rejected", detail="issued in the future (iat)")
        jti = claims.get("jti")
        if jti is not None and not isinstance(jti, str):
            raise InvalidToken("token rejected", detail="jti is not a string")

    async def _verify_opaque(self, token: str, digest: str) -> AuthContext:
        if self.introspection is None:
            raise InvalidToken("token rejected", detail="opaque token but no introspection set up")
        body = await self.introspection.introspect(token, digest)
        if body is None:
            raise InvalidToken("token is not active")
        try:
            if "iss" in body and body["iss"] != self.config.issuer:
                raise InvalidToken("token rejected", detail=f"iss={body['iss']!r}")
            # An API key answers with ``key_id`` (older servers said token_type "api_key").
            is_key = "key_id" in body or body.get("token_type") == "api_key"
            kind = TokenKind.API_KEY if is_key else TokenKind.OPAQUE
            return self._entry(body, kind, digest, self.config.introspection_ttl_s)
        except InvalidToken:
            self.introspection.remember_inactive(digest)
            raise

    def _entry(self, claims: Mapping[str, Any], kind: TokenKind, digest: str,
               ttl_s: float) -> AuthContext:
        now = time.time()
        subject, client_id = claims.get("sub"), claims.get("client_id")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("token rejected", detail="no sub")
        if not isinstance(client_id, str) or not client_id:
            raise InvalidToken("token rejected", detail="no client_id")
        subject_type = claims.get("subject_type", "user")
        if subject_type not in _SUBJECT_TYPES:
            raise InvalidToken("token rejected", detail=f"subject_type={subject_type!r}")
        exp = claims.get("exp")
        if exp is not None and (not isinstance(exp, int | float) or exp <= now):
            raise InvalidToken("token expired")
        workspace = claims.get("workspace")
        if workspace is not None and not isinstance(workspace, str):
            raise InvalidToken("token rejected", detail="workspace is not a string")
        granted = granted_from_claims(claims) or frozenset()
        expires_at = float(exp) if exp is not None else now + ttl_s
        return AuthContext(
            token_hash=digest,
            kind=kind,
            claims=dict(claims),
            subject=subject,
            client_id=client_id,
            subject_type=str(subject_type),
            scopes=self.catalog.expand(granted),
            audience_ok=self._has_audience(claims.get("aud")),
            expires_at=expires_at,
            cached_until=min(now + ttl_s, expires_at),
            workspace=workspace,
        )

    def _has_audience(self, aud: Any) -> bool:
        wanted = self.config.audience
        if wanted is None:
            return True
        if isinstance(aud, str):
            return aud == wanted
        return isinstance(aud, list) and wanted in aud

    # -- audience rollout, failures ---------------------------------------------------

    def _on_missing_audience(self, entry: AuthContext, user_agent: str | None) -> None:
        mode = self.audience_mode
        if mode is AudienceMode.ENFORCE:
            raise self._invalid("token is not for this API",
                                f"aud lacks {self.config.audience!r}")
        if mode is AudienceMode.WARN:
            record_missing_audience(entry.client_id, user_agent)

    async def _record_failure(self, client_ip: str | None) -> None:
        budget = self.config.failed_auth_limit
        if budget is None or client_ip is None:  # the throttle is off unless configured
            return
        try:
            decision = await self.failure_limiter.hit(
                f"authfail:{client_ip}", limit=budget.limit, window_s=budget.window_s
            )
        except RateLimiterUnavailable:
            return  # the 401 still stands; only the IP budget is not counted
        if not decision.allowed:
            description = "too many failed authentications from this address"
            challenge = bearer_challenge(self.config.realm, error=InvalidToken.error,
                                         error_description=description)
            raise RateLimited(decision.retry_after_ms, description,
                              headers={"WWW-Authenticate": challenge})

    def _invalid(self, description: str, detail: str | None = None) -> InvalidToken:
        return InvalidToken(description, realm=self.config.realm, detail=detail)
