"""The device authorization grant (RFC 8628): the endpoint, the grant, user codes and
the verification page's guessing limits.
"""
