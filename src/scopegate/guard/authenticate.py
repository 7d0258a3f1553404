"""The single source of identity and rate limit for every guarded request.

``Authenticator.authenticate`` verifies a bearer token (a JWT locally with the server's own
verifier, ``scopegate.tokens``, and the issuer's JWKS; anything else through RFC 7662
introspection), caches the result by sha256(token),
applies the audience rollout mode, and counts exactly one hit on the per-token limiter.
Whether a route runs the full pipeline or a lighter dependency, both call it once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from scopegate.errors import InvalidToken, RateLimited, bearer_challenge
from scopegate.ratelimit import RateLimiter, RateLimiterUnavailable
from scopegate.scopes import Catalog, granted_from_claims
from scopegate.tokens import SUBJECT_TYPES, TokenVerifier, check_bearer_token

from .audience import record_missing_audience
from .cache import AuthCache
from .config import AudienceMode, GuardConfig, RateLimit
from .context import AuthContext, GuardContext, TokenKind
from .dpop import GuardDPoP, Presentation
from .errors import MissingCredentials, UpstreamUnavailable
from .introspection import IntrospectionClient
from .jwks import JWKSCache
from .revocation import GuardRevocation, issued_at, revocation_channel, revocation_keys

__all__ = ["Authenticator"]

log = logging.getLogger("scopegate.guard")


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
        revocation: GuardRevocation | None = None,
        dpop: GuardDPoP | None = None,
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
        self.revocation = revocation or GuardRevocation(revocation_channel(config, self.http))
        self.dpop = dpop or GuardDPoP.from_config(config)
        if introspection is None and config.client_id and config.client_secret:
            self.introspection = IntrospectionClient(
                self.http,
                endpoint=config.resolved_introspection_endpoint,
                client_id=config.client_id,
                client_secret=config.client_secret,
                negative_ttl_s=config.negative_ttl_s,
            )
        self.audience_mode = config.audience_mode  # a live switch, read per request
        # The server's verifier and claims policy; the keys come from the JWKS instead.
        self.verifier = TokenVerifier((), config.issuer, leeway_s=config.leeway_s)
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
        dpop: Presentation | None = None,
    ) -> AuthContext:
        """Return the verified auth context of ``token`` after one rate-limit hit.

        :param dpop: how the request presented the token (RFC 9449); None: as ``Bearer``,
            which a DPoP-bound token may not be.

        :raises InvalidToken: missing, malformed, expired, revoked or wrong-audience token.
        :raises RateLimited: the token's budget (or the caller IP's failure budget) is spent.
        :raises UpstreamUnavailable: the keys or the introspection endpoint are unreachable.
        """
        if not token:
            raise MissingCredentials(self.config.realm)
        digest = hashlib.sha256(token.encode()).hexdigest()
        self.revocation.ensure_started()
        entry = self.cache.get(digest)
        if entry is None:
            entry = await self._verify_guarded(token, digest, client_ip)
        if self.revocation.revocations.denies(entry.revocation_keys, entry.issued_at):
            self.cache.discard(digest)
            raise self._invalid("token revoked", "on the revocation deny-list")
        if not entry.audience_ok:
            self._on_missing_audience(entry, user_agent)
        if dpop is not None or entry.dpop_jkt is not None:
            await self.dpop.check(entry, token, dpop)
        if rate is None:
            bucket_id, limit, window_s = digest, self._limit, self._window_s
        else:
            bucket_id = f"{digest}:{rate.limit}/{rate.window_s:g}"  # a per-route budget
            limit, window_s = rate.limit, rate.window_s
        try:
            decision = await self.limiter.hit(bucket_id, limit=limit, window_s=window_s)
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
                dpop=request.dpop,
            )
        return ctx.auth

    async def aclose(self) -> None:
        """Close the HTTP client if this authenticator created it."""
        await self.revocation.aclose()
        await self.dpop.aclose()
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
        check_bearer_token(token, self.config.max_token_length)
        self.verify_count += 1
        if token.count(".") == 2:
            return await self._verify_jwt(token, digest)
        return await self._verify_opaque(token, digest)

    async def _verify_jwt(self, token: str, digest: str) -> AuthContext:
        """Verify a compact JWS access token (RFC 9068) with the shared verifier.

        Its key comes from the issuer's JWKS, the one await on this path.
        """
        signed = self.verifier.read(token)
        claims = self.verifier.open(signed, await self.jwks.get(signed.kid))
        return self._entry(claims, TokenKind.JWT, digest, self.config.cache_ttl_s)

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
        if not isinstance(subject_type, str) or subject_type not in SUBJECT_TYPES:
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
            revocation_keys=revocation_keys(claims, subject, client_id),
            issued_at=issued_at(claims),
            dpop_jkt=_bound_key(claims.get("cnf")),
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


def _bound_key(cnf: Any) -> str | None:
    """``cnf.jkt`` (RFC 9449 §6.1), the key a DPoP-bound token needs; a malformed ``cnf``
    binds the token to no key at all (it can never be presented)."""
    if cnf is None:
        return None
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    return jkt if isinstance(jkt, str) and jkt else "!unusable"
