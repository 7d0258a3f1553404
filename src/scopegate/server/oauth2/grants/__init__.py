"""Grants handled at the token endpoint (RFC 6749 §4): a registry and one module each;
the device and refresh grants live with their protocols (``server/device``, ``server/refresh``).
"""
