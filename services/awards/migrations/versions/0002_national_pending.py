"""national_pending: the nation's share of events, folded after commit

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chassis.db import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "national_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("programme", sa.String(length=40), nullable=False),
        sa.Column("phase", sa.String(length=40), nullable=False),
        sa.Column("block", sa.String(length=20), nullable=False),
        sa.Column("target_group", sa.Integer(), nullable=False),
        sa.Column("hour", UtcDateTime(), nullable=True),
        sa.Column("submitted", sa.Integer(), nullable=False),
        sa.Column("recognized", sa.Integer(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("benefit_vnd", sa.BigInteger(), nullable=False),
        sa.Column("recognized_benefit_vnd", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_national_pending")),
    )


def downgrade() -> None:
    op.drop_table("national_pending")
