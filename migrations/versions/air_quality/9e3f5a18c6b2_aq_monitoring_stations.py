"""air_quality: monitoring stations

Revision ID: 9e3f5a18c6b2
Revises:
Create Date: 2026-05-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9e3f5a18c6b2"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("air_quality",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "aq_station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("name_fa", sa.String(length=200), nullable=False),
        sa.Column("district", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aq_station")),
        sa.UniqueConstraint("source_name", name=op.f("uq_aq_station_source_name")),
    )


def downgrade() -> None:
    op.drop_table("aq_station")
