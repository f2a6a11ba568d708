"""review lifecycle: where review has each initiative, and its history step by step

Revision ID: 0002
Revises: 0001

Adds nullable columns only (no table rewrite, no long lock on a large `initiatives`) and the
new `initiative_history` table (append-only, no foreign key: see models.HistoryEntry).
Initiatives submitted before keep null levels and an empty history: their next review step
fills them in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_level", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("reviewing_unit", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("recognized_level", sa.String(length=12), nullable=True))

    op.create_table(
        "initiative_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("initiative_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=12), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("honour", sa.String(length=24), nullable=True),
        sa.Column("event_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiative_history")),
    )
    with op.batch_alter_table("initiative_history", schema=None) as batch_op:
        batch_op.create_index("ix_initiative_history_initiative", ["initiative_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("initiative_history", schema=None) as batch_op:
        batch_op.drop_index("ix_initiative_history_initiative")
    op.drop_table("initiative_history")
    with op.batch_alter_table("initiatives", schema=None) as batch_op:
        batch_op.drop_column("recognized_level")
        batch_op.drop_column("reviewing_unit")
        batch_op.drop_column("review_level")
