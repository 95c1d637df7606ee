"""identity: the window a phone's code attempts are counted in

Revision ID: a93d5e0c2b71
Revises: 7c4e2b9a1d55
Create Date: 2026-12-05 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a93d5e0c2b71"
down_revision: str | None = "7c4e2b9a1d55"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Empty on existing rows: their next attempt opens a fresh window.
    with op.batch_alter_table("identity_otp_challenge") as batch:
        batch.add_column(sa.Column("attempts_reset_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identity_otp_challenge") as batch:
        batch.drop_column("attempts_reset_at")
