"""identity: a vehicle's disability permit, its photo and its review

Revision ID: 7c4e2b9a1d55
Revises: 3f1a9c2d7e10
Create Date: 2026-12-05 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c4e2b9a1d55"
down_revision: str | None = "3f1a9c2d7e10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_disability_permit",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("photo", sa.LargeBinary(), nullable=False),
        sa.Column("photo_type", sa.String(length=32), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["identity_vehicle.id"],
            name=op.f("fk_identity_disability_permit_vehicle_id_identity_vehicle"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_disability_permit")),
        sa.UniqueConstraint("vehicle_id", name=op.f("uq_identity_disability_permit_vehicle_id")),
    )
    op.create_index(
        op.f("ix_identity_disability_permit_citizen_id"),
        "identity_disability_permit",
        ["citizen_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_identity_disability_permit_status"),
        "identity_disability_permit",
        ["status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("identity_disability_permit")
