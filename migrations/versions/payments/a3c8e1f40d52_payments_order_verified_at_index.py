"""payments: index payment orders by when they were verified

Parking's upkeep lists the parking payments verified in a recent window (the ones whose
`PaymentVerified` a stopped process never delivered); at city scale that scan needs it.

Revision ID: a3c8e1f40d52
Revises: 5d1e7a3c9b20
Create Date: 2026-11-26 12:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a3c8e1f40d52"
down_revision: str | None = "5d1e7a3c9b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_payments_order_verified_at", "payments_order", ["verified_at"])


def downgrade() -> None:
    op.drop_index("ix_payments_order_verified_at", table_name="payments_order")
