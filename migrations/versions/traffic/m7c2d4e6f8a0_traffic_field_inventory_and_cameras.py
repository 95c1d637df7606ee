"""traffic: the field inventory (retired detectors, each change kept) and the camera registry

Revision ID: m7c2d4e6f8a0
Revises: j5e2a9c47b10
Create Date: 2026-12-06 03:00:00

- `traffic_detector.retired_at`: out of service since then; ingest refuses its readings.
- `traffic_detector_change`: each detector's history (added, moved, changed, retired,
  restored), who made the change and when, with its placing before and after.
- `traffic_camera`: the command centre's cameras: position, view bearing, the segment it
  stands by, live stream (RTSP/HLS) and snapshot addresses, status, public or restricted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "m7c2d4e6f8a0"
down_revision: str | None = "j5e2a9c47b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("traffic_detector", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "traffic_detector_change",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("detector_id", sa.String(length=120), nullable=False),
        sa.Column("change", sa.String(length=10), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("segment_before", sa.String(length=120), nullable=True),
        sa.Column("lane_before", sa.Integer(), nullable=True),
        sa.Column("position_before_m", sa.Float(), nullable=True),
        sa.Column("kind_before", sa.String(length=20), nullable=True),
        sa.Column("segment_after", sa.String(length=120), nullable=True),
        sa.Column("lane_after", sa.Integer(), nullable=True),
        sa.Column("position_after_m", sa.Float(), nullable=True),
        sa.Column("kind_after", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic_detector_change")),
    )
    with op.batch_alter_table("traffic_detector_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_traffic_detector_change_detector_id"), ["detector_id"], unique=False
        )
    op.create_table(
        "traffic_camera",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("name_fa", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("view_bearing_deg", sa.Float(), nullable=True),
        sa.Column("segment_id", sa.String(length=120), nullable=True),
        sa.Column("stream_url", sa.String(length=500), nullable=True),
        sa.Column("snapshot_url", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic_camera")),
    )
    with op.batch_alter_table("traffic_camera", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_traffic_camera_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("traffic_camera", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_traffic_camera_status"))
    op.drop_table("traffic_camera")
    with op.batch_alter_table("traffic_detector_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_traffic_detector_change_detector_id"))
    op.drop_table("traffic_detector_change")
    with op.batch_alter_table("traffic_detector", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
