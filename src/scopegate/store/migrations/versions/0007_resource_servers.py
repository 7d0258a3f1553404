"""Record which resources a client serves, so introspection answers only to them.

``clients.resource_servers`` lists the RFC 8707 resource identifiers a confidential
client serves as a resource server (e.g. a guard's introspection client). RFC 7662 §4:
the introspection endpoint tells a caller about a token only if the caller is the
token's own client or serves one of the token's audiences. NULL (every existing client)
serves nothing.

Revision ID: 0007_resource_servers
Revises: 0006_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_resource_servers"
down_revision = "0006_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("resource_servers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("resource_servers")
