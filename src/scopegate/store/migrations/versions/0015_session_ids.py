"""The browser session a grant was approved in, so ending that session revokes it.

``authorization_codes`` and ``device_codes`` record the session (``ses_…``) that approved
them; ``refresh_tokens`` carry it to every token of the family (indexed: ending a session
looks its families up). The id is kept without a foreign key, since it must outlive the
session's row. Rows from before have none: their tokens carry no ``sid``, as before.
Plain ``ADD COLUMN``/``DROP COLUMN`` on both databases (SQLite 3.35+ drops columns).

Revision ID: 0015_session_ids
Revises: 0014_pushed_requests
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_session_ids"
down_revision = "0014_pushed_requests"
branch_labels = None
depends_on = None

_TABLES = ("authorization_codes", "device_codes", "refresh_tokens")
_INDEX = "ix_refresh_tokens_session_id"


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("session_id", sa.String(40), nullable=True))
    op.create_index(_INDEX, "refresh_tokens", ["session_id"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="refresh_tokens")
    for table in _TABLES:
        op.drop_column(table, "session_id")
