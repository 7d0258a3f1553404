"""Every table of the store; importing this package registers them on ``Base.metadata``.

A new model module must be imported here so Alembic's ``env.py`` sees it.
"""

from .api_keys import ApiKey
from .base import Base, UTCDateTime, created_at_column, utcnow
from .clients import Client
from .keys import RevokedToken, ServerSecret, SigningKey
from .pushed_requests import PushedRequest
from .resources import ResourceServer
from .sessions import UserSession
from .usage import AudienceModeChoice, UsageCount
from .users import (
    AuthorizationCode,
    Consent,
    DeviceCode,
    Membership,
    RefreshToken,
    User,
    Workspace,
)

__all__ = [
    "ApiKey",
    "AudienceModeChoice",
    "AuthorizationCode",
    "Base",
    "Client",
    "Consent",
    "DeviceCode",
    "Membership",
    "PushedRequest",
    "RefreshToken",
    "ResourceServer",
    "RevokedToken",
    "ServerSecret",
    "SigningKey",
    "UTCDateTime",
    "UsageCount",
    "User",
    "UserSession",
    "Workspace",
    "created_at_column",
    "utcnow",
]
