"""traffic: less index work per reading (BRIN indexes by time, HOT sums and states)

Revision ID: d7a4c3e81f50
Revises: b41f7e2c9a06
Create Date: 2026-11-26 12:45:00

- `traffic_reading.observed_at`: a BRIN index instead of a B-tree. Only the prune reads
  by it, and rows arrive in about that order; a B-tree took an entry for every reading.
- `traffic_detector_interval`: a BRIN index on `interval_start` instead of the B-tree on
  (interval_start, segment_id) (the health check reads the last hours, the prune the
  oldest); `segment_id` goes (no query read it; a detector's segment is the registry's).
- `traffic_detector_interval` and `traffic_segment_state`: fill factor 50, so that an
  update of a row's sums or state finds room on its own page and adds no index entries
  (HOT: no indexed column changes).
- `traffic_segment_state.updated_at` loses its index (every update changed it, so no
  update could be HOT); when the states last changed is one row of
  `traffic_state_version`, written last by each transaction that changes states.

Fill factors and BRIN are PostgreSQL's; on SQLite the index stays a B-tree.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d7a4c3e81f50"
down_revision: str | None = "b41f7e2c9a06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTOR = 50


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "traffic_state_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic_state_version")),
    )
    with op.batch_alter_table("traffic_segment_state", schema=None) as batch_op:
        batch_op.drop_index("ix_traffic_segment_state_updated")
    with op.batch_alter_table("traffic_reading", schema=None) as batch_op:
        batch_op.drop_index("ix_traffic_reading_observed_at")
        batch_op.create_index(
            "ix_traffic_reading_observed_at",
            ["observed_at"],
            unique=False,
            postgresql_using="brin",
        )
    with op.batch_alter_table("traffic_detector_interval", schema=None) as batch_op:
        batch_op.drop_index("ix_traffic_detector_interval_segment")
        batch_op.drop_column("segment_id")
        batch_op.create_index(
            "ix_traffic_detector_interval_start",
            ["interval_start"],
            unique=False,
            postgresql_using="brin",
        )
    op.execute(
        "INSERT INTO traffic_state_version (id, changed_at)"
        " SELECT 1, max(updated_at) FROM traffic_segment_state HAVING count(*) > 0"
    )
    if _postgresql():
        # Pages written from now on leave the room free (existing pages keep their rows).
        for table in ("traffic_detector_interval", "traffic_segment_state"):
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if _postgresql():
        for table in ("traffic_detector_interval", "traffic_segment_state"):
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    with op.batch_alter_table("traffic_detector_interval", schema=None) as batch_op:
        batch_op.drop_index("ix_traffic_detector_interval_start")
        batch_op.add_column(
            sa.Column("segment_id", sa.String(length=120), nullable=False, server_default="")
        )
    op.execute(
        "UPDATE traffic_detector_interval SET segment_id = ("
        " SELECT traffic_detector.segment_id FROM traffic_detector"
        " WHERE traffic_detector.id = traffic_detector_interval.detector_id)"
        " WHERE EXISTS (SELECT 1 FROM traffic_detector"
        " WHERE traffic_detector.id = traffic_detector_interval.detector_id)"
    )
    with op.batch_alter_table("traffic_detector_interval", schema=None) as batch_op:
        batch_op.alter_column("segment_id", server_default=None)
        batch_op.create_index(
            "ix_traffic_detector_interval_segment", ["interval_start", "segment_id"], unique=False
        )
    with op.batch_alter_table("traffic_reading", schema=None) as batch_op:
        batch_op.drop_index("ix_traffic_reading_observed_at")
        batch_op.create_index("ix_traffic_reading_observed_at", ["observed_at"], unique=False)
    with op.batch_alter_table("traffic_segment_state", schema=None) as batch_op:
        batch_op.create_index("ix_traffic_segment_state_updated", ["updated_at"], unique=False)
    op.drop_table("traffic_state_version")
