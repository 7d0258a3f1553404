"""OAuth 2.0 core (RFC 6749): the authorization and token endpoints, their grants, and
the endpoints every client meets beside them: revocation (RFC 7009), introspection
(RFC 7662), server metadata (RFC 8414), JWT access tokens (RFC 9068).
"""
