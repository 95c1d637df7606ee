"""traffic: signals in the network model, what a state used, calibrated vehicle lengths

Revision ID: s3a1e0c9d2b7
Revises: d7a4c3e81f50
Create Date: 2026-12-06 00:30:00

- `traffic_segment.signal_cycle_s`, `green_share`: the signal where traffic leaves the
  segment (NULL: none or unknown), for the control delay loops cannot see.
- `traffic_segment_state.source`: 24 -> 120 characters, a "+"-joined list of what the
  state used (loops, occupancy, signal_delay, journeys, neighbours, ...).
- `traffic_detector.vehicle_length_m` and the free-flow sums it is learnt from
  (`length_speed_occupancy`: Σ spot speed x occupancy-seconds, `length_vehicles`: Σ vehicles,
  `length_intervals`, `length_learnt_until`: the last interval added).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s3a1e0c9d2b7"
down_revision: str | None = "d7a4c3e81f50"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("traffic_segment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signal_cycle_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("green_share", sa.Float(), nullable=True))
    with op.batch_alter_table("traffic_segment_state", schema=None) as batch_op:
        batch_op.alter_column(
            "source",
            existing_type=sa.String(length=24),
            type_=sa.String(length=120),
            existing_nullable=False,
        )
    with op.batch_alter_table("traffic_detector", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vehicle_length_m", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("length_speed_occupancy", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("length_vehicles", sa.Float(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("length_intervals", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("length_learnt_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("traffic_detector", schema=None) as batch_op:
        batch_op.drop_column("length_learnt_until")
        batch_op.drop_column("length_intervals")
        batch_op.drop_column("length_vehicles")
        batch_op.drop_column("length_speed_occupancy")
        batch_op.drop_column("vehicle_length_m")
    op.execute("UPDATE traffic_segment_state SET source = substr(source, 1, 24)")
    with op.batch_alter_table("traffic_segment_state", schema=None) as batch_op:
        batch_op.alter_column(
            "source",
            existing_type=sa.String(length=120),
            type_=sa.String(length=24),
            existing_nullable=False,
        )
    with op.batch_alter_table("traffic_segment", schema=None) as batch_op:
        batch_op.drop_column("green_share")
        batch_op.drop_column("signal_cycle_s")
