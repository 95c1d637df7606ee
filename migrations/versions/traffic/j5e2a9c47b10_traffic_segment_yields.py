"""traffic: which segments give way at an unsignalised junction

Revision ID: j5e2a9c47b10
Revises: s3a1e0c9d2b7
Create Date: 2026-12-06 02:00:00

- `traffic_segment.yields`: traffic leaving the segment gives way to a road of higher
  priority at an unsignalised junction (a side street's stop or yield line), for the
  two-way-stop control delay loops cannot see.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "j5e2a9c47b10"
down_revision: str | None = "s3a1e0c9d2b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("traffic_segment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("yields", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("traffic_segment", schema=None) as batch_op:
        batch_op.drop_column("yields")
