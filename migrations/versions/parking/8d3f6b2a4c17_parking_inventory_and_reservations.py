"""parking: zones, meters, bays, reservations (no bay held twice), refunds, notifications

Revision ID: 8d3f6b2a4c17
Revises: 4b7c21e9d0a3
Create Date: 2026-11-26 10:00:00

On PostgreSQL the exclusion constraint `parking_reservation_no_overlap` refuses two rows
that hold one bay (status pending or confirmed) over overlapping ranges; it needs the
btree_gist extension for the `bay_id WITH =` part. SQLite has no such constraint: the
application takes SQLite's write lock first (`BEGIN IMMEDIATE`) and checks before it
writes (docs/decisions/0011).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d3f6b2a4c17"
down_revision: str | None = "4b7c21e9d0a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_OVERLAP = "parking_reservation_no_overlap"


def upgrade() -> None:
    op.create_table(
        "parking_zone",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("district", sa.Integer(), nullable=False),
        sa.Column("name_fa", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("opens_min", sa.Integer(), nullable=False),
        sa.Column("closes_min", sa.Integer(), nullable=False),
        sa.Column("min_stay_min", sa.Integer(), nullable=False),
        sa.Column("max_stay_min", sa.Integer(), nullable=False),
        sa.Column("fridays_off", sa.Boolean(), nullable=False),
        sa.Column("holidays_off", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_parking_zone")),
    )
    op.create_table(
        "parking_meter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=40), nullable=False),
        sa.Column("zone_code", sa.String(length=40), nullable=False),
        sa.Column("street_fa", sa.String(length=150), nullable=False),
        sa.Column("street_en", sa.String(length=150), nullable=False),
        sa.Column("street_class", sa.String(length=1), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_code"],
            ["parking_zone.code"],
            name=op.f("fk_parking_meter_zone_code_parking_zone"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_meter")),
        sa.UniqueConstraint("device_id", name=op.f("uq_parking_meter_device_id")),
    )
    op.create_index("ix_parking_meter_zone_code", "parking_meter", ["zone_code"])
    op.create_table(
        "parking_bay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("in_service", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["parking_meter.id"], name=op.f("fk_parking_bay_meter_id_parking_meter")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_bay")),
        sa.UniqueConstraint("meter_id", "number", name="uq_parking_bay_meter_number"),
    )
    op.create_table(
        "parking_inventory_revision",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_inventory_revision")),
    )
    op.create_table(
        "parking_reservation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=64), nullable=False),
        sa.Column("bay_id", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=20), nullable=False),
        sa.Column("vehicle_kind", sa.String(length=16), nullable=False),
        sa.Column("street_class", sa.String(length=1), nullable=False),
        sa.Column("tariff_version", sa.String(length=20), nullable=False),
        sa.Column("quote_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extension_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amount_rial", sa.BigInteger(), nullable=False),
        sa.Column("paid_rial", sa.BigInteger(), nullable=False),
        sa.Column("extension_rial", sa.BigInteger(), nullable=True),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("refunded_rial", sa.BigInteger(), nullable=False),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "starts_at < ends_at", name=op.f("ck_parking_reservation_window_not_empty")
        ),
        sa.CheckConstraint(
            "paid_rial >= 0 AND amount_rial >= 0",
            name=op.f("ck_parking_reservation_amounts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["bay_id"], ["parking_bay.id"], name=op.f("fk_parking_reservation_bay_id_parking_bay")
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["parking_meter.id"],
            name=op.f("fk_parking_reservation_meter_id_parking_meter"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_reservation")),
        sa.UniqueConstraint("quote_id", name=op.f("uq_parking_reservation_quote_id")),
    )
    op.create_index(
        "ix_parking_reservation_bay_starts", "parking_reservation", ["bay_id", "starts_at"]
    )
    op.create_index(
        "ix_parking_reservation_meter_starts", "parking_reservation", ["meter_id", "starts_at"]
    )
    op.create_index(
        "ix_parking_reservation_status_ends", "parking_reservation", ["status", "ends_at"]
    )
    op.create_index(
        "ix_parking_reservation_citizen_created",
        "parking_reservation",
        ["citizen_id", "created_at"],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            f"ALTER TABLE parking_reservation ADD CONSTRAINT {NO_OVERLAP} EXCLUDE USING gist"
            " (bay_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)"
            " WHERE (status IN ('pending', 'confirmed'))"
        )
    op.create_table(
        "parking_reservation_payment",
        sa.Column("payment_id", sa.String(length=64), nullable=False),
        sa.Column("reservation_id", sa.String(length=120), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("amount_rial", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_parking_reservation_payment")),
    )
    op.create_index(
        op.f("ix_parking_reservation_payment_reservation_id"),
        "parking_reservation_payment",
        ["reservation_id"],
    )
    op.create_table(
        "parking_refund",
        sa.Column("reservation_id", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("citizen_id", sa.String(length=64), nullable=False),
        sa.Column("amount_rial", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("reservation_id", "reason", name=op.f("pk_parking_refund")),
    )
    op.create_table(
        "parking_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.String(length=64), nullable=False),
        sa.Column("reservation_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_notification")),
    )
    op.create_index(
        "ix_parking_notification_citizen_created",
        "parking_notification",
        ["citizen_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("parking_notification")
    op.drop_table("parking_refund")
    op.drop_table("parking_reservation_payment")
    op.drop_table("parking_reservation")
    op.drop_table("parking_inventory_revision")
    op.drop_table("parking_bay")
    op.drop_table("parking_meter")
    op.drop_table("parking_zone")
