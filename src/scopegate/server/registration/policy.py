"""Who may register what (``SCOPEGATE_REGISTRATION``), and how often.

The shape is node-oidc-provider's ``features.registration`` with Keycloak's anonymous
policy: ``open`` (the default) lets anyone register a *public* client (no secret,
``token_endpoint_auth_method`` ``none``) with https or loopback http redirect URIs,
the ``authorization_code`` grant (and ``refresh_token``), public scopes only, PKCE S256
as for every client. Anything more — a confidential client, client credentials, the
device grant, a private-use redirect scheme, internal scopes — needs an initial access
token (RFC 7591 §3): a bearer token whose SHA-256 the operator lists in
``SCOPEGATE_REGISTRATION_INITIAL_TOKENS`` (``scopegate clients initial-token`` makes
one). ``token`` asks every registration for one; ``off`` turns registration off.

Anonymous registrations are limited per client address
(``SCOPEGATE_REGISTRATION_PER_ADDRESS`` per ``SCOPEGATE_REGISTRATION_WINDOW`` seconds,
shared through Redis when configured); self-registered public clients unused for
``SCOPEGATE_REGISTRATION_UNUSED_TTL`` seconds are pruned by the maintenance pass.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from ...errors import InvalidToken, RateLimited
from ...ratelimit import DualRateLimiter, create_rate_limiter
from ..admin.registration import token_hash
from ..config.checks import proxy_items
from ..config.settings import Settings
from ..shared import Context
from .errors import InvalidClientMetadata
from .metadata import ClientMetadata

__all__ = ["ANONYMOUS_GRANTS", "RegistrationPolicy"]

ANONYMOUS_GRANTS = frozenset({"authorization_code", "refresh_token"})


@dataclass(eq=False)
class RegistrationPolicy:
    """The registration rules of one server (built from its settings at start-up)."""

    mode: str
    initial_token_hashes: tuple[str, ...]
    per_address: int
    window_s: float
    limiter: DualRateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> RegistrationPolicy:
        """The policy ``settings`` describe; the caller closes :attr:`limiter` at shutdown."""
        return cls(settings.registration,
                   tuple(proxy_items(settings.registration_initial_tokens)),
                   settings.registration_per_address, settings.registration_window,
                   create_rate_limiter(settings.redis_url, prefix="scopegate:registration:"))

    @property
    def enabled(self) -> bool:
        """Whether the registration endpoint is served and advertised."""
        return self.mode != "off"

    def is_initial_token(self, token: str) -> bool:
        """Whether ``token`` is one of the operator's initial access tokens (constant time
        per comparison, every hash compared)."""
        digest = token_hash(token)
        found = False
        for known in self.initial_token_hashes:
            found |= hmac.compare_digest(digest, known)
        return found

    def caller_is_anonymous(self, ctx: Context) -> bool:
        """True without an ``Authorization`` header; False with a valid initial token.

        :raises InvalidToken: a wrong token, or none where the mode asks for one.
        """
        header = ctx.header("authorization")
        if header is None:
            if self.mode == "token":
                raise InvalidToken("this server registers clients only with an initial "
                                   "access token (Authorization: Bearer <token>)")
            return True
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not self.is_initial_token(token.strip()):
            raise InvalidToken("the initial access token is not valid")
        return False

    async def admit(self, address: str) -> None:
        """Count one anonymous registration from ``address``.

        :raises RateLimited: too many from this address in the window.
        """
        decision = await self.limiter.hit(f"reg:{address}", limit=self.per_address,
                                          window_s=self.window_s)
        if not decision.allowed:
            raise RateLimited(decision.retry_after_ms,
                              "too many client registrations from this address")

    @staticmethod
    def check_anonymous(metadata: ClientMetadata) -> None:
        """Refuse what only an initial access token allows.

        :raises InvalidClientMetadata: naming the member that needs the token.
        """
        if metadata.auth_method != "none":
            raise InvalidClientMetadata(
                f"token_endpoint_auth_method {metadata.auth_method} (a confidential client) "
                "needs an initial access token; use none with PKCE")
        extra = set(metadata.spec.grant_types) - ANONYMOUS_GRANTS
        if extra:
            raise InvalidClientMetadata(
                f"grant_types {', '.join(sorted(extra))} need an initial access token")

