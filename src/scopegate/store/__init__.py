"""Persistence: SQLAlchemy 2 models, repositories and Alembic migrations.

SQLite is the embedded default; PostgreSQL (``postgresql+psycopg://``) scales out with the
same code. Scopes are stored as JSON lists of canonical names.
"""

from .availability import AvailabilityChange
from .db import Database, DatabaseError, DatabaseUnavailable

__all__ = ["AvailabilityChange", "Database", "DatabaseError", "DatabaseUnavailable"]
