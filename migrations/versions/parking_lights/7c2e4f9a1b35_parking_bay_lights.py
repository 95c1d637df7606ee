"""parking: bay lights (desired and reported), reservation windows, meter presence

Revision ID: 7c2e4f9a1b35
Revises:
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c2e4f9a1b35"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("parking_lights",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parking_bay_light",
        sa.Column("meter_device_id", sa.String(length=64), nullable=False),
        sa.Column("bay_number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=True),
        sa.Column("desired_color", sa.String(length=8), nullable=False),
        sa.Column("desired_seq", sa.BigInteger(), nullable=False),
        sa.Column("desired_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("desired_issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_seq", sa.BigInteger(), nullable=False),
        sa.Column("reported_color", sa.String(length=8), nullable=True),
        sa.Column("reported_seq", sa.BigInteger(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("meter_device_id", "bay_number", name=op.f("pk_parking_bay_light")),
    )
    op.create_index(
        op.f("ix_parking_bay_light_meter_id"), "parking_bay_light", ["meter_id"], unique=False
    )
    op.create_table(
        "parking_light_window",
        sa.Column("reservation_id", sa.String(length=64), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=True),
        sa.Column("meter_device_id", sa.String(length=64), nullable=False),
        sa.Column("bay_number", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("reservation_id", name=op.f("pk_parking_light_window")),
    )
    op.create_index(
        "ix_parking_light_window_bay",
        "parking_light_window",
        ["meter_device_id", "bay_number"],
        unique=False,
    )
    op.create_index(
        "ix_parking_light_window_ends_at", "parking_light_window", ["ends_at"], unique=False
    )
    op.create_table(
        "parking_meter_presence",
        sa.Column("meter_device_id", sa.String(length=64), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session", sa.String(length=64), nullable=True),
        sa.Column("firmware", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("meter_device_id", name=op.f("pk_parking_meter_presence")),
    )
    op.create_index(
        op.f("ix_parking_meter_presence_meter_id"),
        "parking_meter_presence",
        ["meter_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_parking_meter_presence_meter_id"), table_name="parking_meter_presence")
    op.drop_table("parking_meter_presence")
    op.drop_index("ix_parking_light_window_ends_at", table_name="parking_light_window")
    op.drop_index("ix_parking_light_window_bay", table_name="parking_light_window")
    op.drop_table("parking_light_window")
    op.drop_index(op.f("ix_parking_bay_light_meter_id"), table_name="parking_bay_light")
    op.drop_table("parking_bay_light")
