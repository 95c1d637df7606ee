"""payments: a payment order names what it paid for (a street and a bay)

The wallet's lines say what each payment was for. The payer passes it as data (the street
in Persian and English, the bay's number), not as words in one language, so each page
writes it in its reader's language. Orders from before have none and read as before.

Revision ID: c71e4b9a2d08
Revises: a3c8e1f40d52
Create Date: 2026-12-05 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c71e4b9a2d08"
down_revision: str | None = "a3c8e1f40d52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments_order") as batch:
        batch.add_column(sa.Column("paid_for", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payments_order") as batch:
        batch.drop_column("paid_for")
