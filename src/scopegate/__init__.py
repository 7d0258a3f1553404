"""scopegate: one system for the whole life of an OAuth 2 scope.

Packages: ``scopes`` (the catalog and scope algebra), ``tokens`` (keys, JWTs, API-key
formats), ``store`` (SQLAlchemy models and migrations), ``ratelimit``, ``server`` (the
authorization server), ``guard`` (the resource-server pipeline), ``client`` (the SDK) and
``cli``.
"""

__version__ = "0.1.0"
