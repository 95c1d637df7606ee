"""parking: districts and metro stations

Revision ID: 4b7c21e9d0a3
Revises:
Create Date: 2026-05-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4b7c21e9d0a3"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("parking",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parking_district",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name_fa", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("geometry_geojson", sa.Text(), nullable=False),
        sa.Column("centroid_lon", sa.Float(), nullable=False),
        sa.Column("centroid_lat", sa.Float(), nullable=False),
        sa.Column("approximate", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_parking_district")),
    )
    op.create_table(
        "parking_metro_station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("name_fa", sa.String(length=100), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_metro_station")),
        sa.UniqueConstraint("name_en", name=op.f("uq_parking_metro_station_name_en")),
    )


def downgrade() -> None:
    op.drop_table("parking_metro_station")
    op.drop_table("parking_district")
