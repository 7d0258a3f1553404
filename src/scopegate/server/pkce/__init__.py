"""PKCE (RFC 7636): the code challenge, attached to the authorization-code grant as a hook.
"""
