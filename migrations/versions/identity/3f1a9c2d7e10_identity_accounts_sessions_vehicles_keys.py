"""identity: citizens, staff and roles, one-time codes, sessions, vehicles, API keys

Revision ID: 3f1a9c2d7e10
Revises:
Create Date: 2026-05-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f1a9c2d7e10"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("identity",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_citizen",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_signed_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_citizen")),
        sa.UniqueConstraint("phone", name=op.f("uq_identity_citizen_phone")),
    )
    op.create_table(
        "identity_staff",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("display_name", sa.String(length=60), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_identity_staff_username")),
    )
    op.create_table(
        "identity_staff_role",
        sa.Column("staff_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["identity_staff.id"],
            name=op.f("fk_identity_staff_role_staff_id_identity_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "role", name=op.f("pk_identity_staff_role")),
    )
    op.create_table(
        "identity_otp_challenge",
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wrong_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_identity_otp_challenge")),
    )
    op.create_table(
        "identity_session",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=True),
        sa.Column("staff_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_citizen.id"],
            name=op.f("fk_identity_session_citizen_id_identity_citizen"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["identity_staff.id"],
            name=op.f("fk_identity_session_staff_id_identity_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_identity_session_token_hash")),
    )
    op.create_index(
        op.f("ix_identity_session_citizen_id"), "identity_session", ["citizen_id"], unique=False
    )
    op.create_index(
        op.f("ix_identity_session_staff_id"), "identity_session", ["staff_id"], unique=False
    )
    op.create_table(
        "identity_vehicle",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("plate", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("nickname", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["identity_citizen.id"],
            name=op.f("fk_identity_vehicle_citizen_id_identity_citizen"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_vehicle")),
        sa.UniqueConstraint("citizen_id", "plate", name=op.f("uq_identity_vehicle_citizen_id")),
    )
    op.create_index(op.f("ix_identity_vehicle_plate"), "identity_vehicle", ["plate"], unique=False)
    op.create_table(
        "identity_api_key",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("quota_tier", sa.String(length=16), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_identity_api_key_prefix")),
    )


def downgrade() -> None:
    op.drop_table("identity_api_key")
    op.drop_index(op.f("ix_identity_vehicle_plate"), table_name="identity_vehicle")
    op.drop_table("identity_vehicle")
    op.drop_index(op.f("ix_identity_session_staff_id"), table_name="identity_session")
    op.drop_index(op.f("ix_identity_session_citizen_id"), table_name="identity_session")
    op.drop_table("identity_session")
    op.drop_table("identity_otp_challenge")
    op.drop_table("identity_staff_role")
    op.drop_table("identity_staff")
    op.drop_table("identity_citizen")
