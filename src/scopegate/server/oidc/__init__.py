"""OpenID Connect Core 1.0: ID tokens and the UserInfo endpoint.
"""
