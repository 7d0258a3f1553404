"""Every table of the store; importing this package registers them on ``Base.metadata``.

A new model module must be imported here so Alembic's ``env.py`` sees it.
"""

from .base import Base, UTCDateTime, created_at_column, utcnow
from .clients import Client
from .keys import RevokedToken, ServerSecret, SigningKey

__all__ = [
    "Base",
    "Client",
    "RevokedToken",
    "ServerSecret",
    "SigningKey",
    "UTCDateTime",
    "created_at_column",
    "utcnow",
]
