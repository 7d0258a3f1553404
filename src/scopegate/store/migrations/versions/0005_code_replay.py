"""Close the code-replay race and let the maintenance pass find expired refresh families.

``authorization_codes.replayed_at`` marks the first replay of a code, so an exchange that
is still minting tokens when the replay arrives sees it and revokes what it minted (see
:mod:`scopegate.server.grants.authorization_code`). ``ix_refresh_tokens_expires_at``
lets the pruning pass find expired refresh tokens without scanning the table.

Batch mode drops the column on SQLite (it rebuilds the table); PostgreSQL gets a plain
``ALTER TABLE``.

Revision ID: 0005_code_replay
Revises: 0004_canonical_scopes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scopegate.store.models.base import UTCDateTime

revision = "0005_code_replay"
down_revision = "0004_canonical_scopes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("authorization_codes") as batch:
        batch.add_column(sa.Column("replayed_at", UTCDateTime(), nullable=True))
    op.create_index("ix_refresh_tokens_expires_at", "refresh_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_refresh_tokens_expires_at", table_name="refresh_tokens")
    with op.batch_alter_table("authorization_codes") as batch:
        batch.drop_column("replayed_at")
