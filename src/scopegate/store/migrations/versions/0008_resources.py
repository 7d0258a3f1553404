"""Resource servers become records: ``resources`` holds the ones an operator registers.

A row is an RFC 8707 resource identifier (the URL a client sends as ``resource`` and a
token carries as ``aud``), a name for people and the canonical scopes it offers. The
catalog's static audiences are not stored: they exist from the start, computed from the
catalog. Who may introspect for a resource stays on the client
(``clients.resource_servers``, 0007).

Revision ID: 0008_resources
Revises: 0007_resource_servers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scopegate.store.models.base import UTCDateTime

revision = "0008_resources"
down_revision = "0007_resource_servers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("identifier", sa.String(2000), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("identifier", name=op.f("pk_resources")),
    )


def downgrade() -> None:
    op.drop_table("resources")
