"""DPoP at the authorization server (RFC 9449): proofs at the token endpoint, bound tokens."""

from .binding import binding, bound_jkt
from .token_endpoint import TokenEndpointDPoP, dpop_proof

__all__ = ["TokenEndpointDPoP", "binding", "bound_jkt", "dpop_proof"]
