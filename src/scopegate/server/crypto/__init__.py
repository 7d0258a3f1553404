"""Secrets at rest: the key-encryption key and password hashing.
"""
