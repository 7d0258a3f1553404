"""The server's signing keys (JWS, RFC 7515) and their publication as a JWKS (RFC 7517).
"""
