"""DPoP (RFC 9449): a public client's refresh tokens are bound to its DPoP key.

``refresh_tokens.dpop_jkt`` holds the key's RFC 7638 SHA-256 thumbprint (43 characters of
base64url); a refresh must come with a proof signed by that key. Clients that must always
use DPoP say so in ``clients.client_metadata`` (``dpop_bound_access_tokens``), no column.

Revision ID: 0013_dpop
Revises: 0009_registration
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_dpop"
down_revision = "0009_registration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refresh_tokens", sa.Column("dpop_jkt", sa.String(43), nullable=True))


def downgrade() -> None:
    # Bound families would become bearer ones: revoke them rather than unbind them.
    op.execute(sa.text("UPDATE refresh_tokens SET revoked_at = CURRENT_TIMESTAMP "
                       "WHERE dpop_jkt IS NOT NULL AND revoked_at IS NULL"))
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("dpop_jkt")
