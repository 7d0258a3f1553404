"""Server-side browser sessions, and users an admin can disable.

``user_sessions`` holds one row per signed-in browser (the cookie carries a random
token, the row its SHA-256 digest), so logout, a password change or an admin ends a
session for every copy of the cookie and every replica. ``users.disabled_at`` marks a
user who may no longer sign in.

The column is added and dropped with a plain ``ALTER TABLE`` on both databases (SQLite
3.35+ drops columns itself): batch mode would rebuild ``users``, and dropping the old
table with foreign keys on would cascade into every table that references it.

Revision ID: 0006_sessions
Revises: 0005_code_replay
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scopegate.store.models.base import UTCDateTime

revision = "0006_sessions"
down_revision = "0005_code_replay"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("disabled_at", UTCDateTime(), nullable=True))
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_user_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_user_sessions_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_user_sessions_user_id_users"),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_index("ix_user_sessions_expires_at", "user_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("user_sessions")
    op.drop_column("users", "disabled_at")
