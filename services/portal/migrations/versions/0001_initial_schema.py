"""initial schema: people, role grants, sessions, logins in flight, API clients

Revision ID: 0001
Revises:
Create Date: 2026-12-07 20:21:10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chassis.migrations import create_chassis_tables, drop_chassis_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.String(300), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_login_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person", sa.String(300), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("unit_path", sa.String(400), nullable=False),
        sa.Column("member_id", sa.String(100), nullable=True),
        sa.Column("granted_by", sa.String(300), nullable=False),
        sa.Column("granted_at", WHEN, nullable=False),
        sa.Column("revoked_by", sa.String(300), nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["person"], ["people.id"], name=op.f("fk_grants_person_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    op.create_index(op.f("ix_grants_person"), "grants", ["person"])
    op.create_index("ix_grants_unit_path", "grants", ["unit_path"], postgresql_ops={"unit_path": "varchar_pattern_ops"})
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("person", sa.String(300), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("id_token", sa.String(4000), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["person"], ["people.id"], name=op.f("fk_sessions_person_people")),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_person"), "sessions", ["person"])
    op.create_index(op.f("ix_sessions_expires_at"), "sessions", ["expires_at"])
    op.create_table(
        "login_attempts",
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("next_url", sa.String(500), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_created_at"), "login_attempts", ["created_at"])
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("unit", sa.String(40), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("disabled_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_api_clients")),
    )
    create_chassis_tables()


def downgrade() -> None:
    drop_chassis_tables()
    op.drop_table("api_clients")
    op.drop_table("login_attempts")
    op.drop_table("sessions")
    op.drop_table("grants")
    op.drop_table("people")
