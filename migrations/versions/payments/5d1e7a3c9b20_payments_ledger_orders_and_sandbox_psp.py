"""payments: ledger, payment orders, callbacks, refunds, reconciliation runs, sandbox PSP

Revision ID: 5d1e7a3c9b20
Revises:
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1e7a3c9b20"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("payments",)
depends_on: str | Sequence[str] | None = None

# Entries and callbacks grow without bound; SQLite only auto-increments an INTEGER key.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payments_account",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("balance_rial", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind <> 'citizen_wallet' OR balance_rial >= 0",
            name=op.f("ck_payments_account_wallet_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_account")),
    )
    op.create_table(
        "payments_transaction",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("payment_id", sa.String(length=36), nullable=True),
        sa.Column("refund_id", sa.String(length=36), nullable=True),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_transaction")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_payments_transaction_idempotency_key")
        ),
    )
    op.create_index(
        op.f("ix_payments_transaction_payment_id"), "payments_transaction", ["payment_id"]
    )
    op.create_index(
        op.f("ix_payments_transaction_reference"), "payments_transaction", ["reference"]
    )
    op.create_table(
        "payments_entry",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=80), nullable=False),
        sa.Column("amount_rial", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_rial <> 0", name=op.f("ck_payments_entry_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["payments_account.id"],
            name=op.f("fk_payments_entry_account_id_payments_account"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["payments_transaction.id"],
            name=op.f("fk_payments_entry_transaction_id_payments_transaction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_entry")),
    )
    op.create_index("ix_payments_entry_account_id", "payments_entry", ["account_id", "id"])
    op.create_index(op.f("ix_payments_entry_transaction_id"), "payments_entry", ["transaction_id"])
    op.create_table(
        "payments_order",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("amount_rial", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("psp", sa.String(length=32), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("return_url", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redirected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verify_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.String(length=40), nullable=True),
        sa.Column("trace_no", sa.String(length=40), nullable=True),
        sa.Column("rrn", sa.String(length=40), nullable=True),
        sa.Column("card_mask", sa.String(length=32), nullable=True),
        sa.CheckConstraint("amount_rial > 0", name=op.f("ck_payments_order_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_order")),
        sa.UniqueConstraint("token", name=op.f("uq_payments_order_token")),
    )
    op.create_index(op.f("ix_payments_order_citizen_id"), "payments_order", ["citizen_id"])
    op.create_index(op.f("ix_payments_order_reference"), "payments_order", ["reference"])
    op.create_index(op.f("ix_payments_order_status"), "payments_order", ["status"])
    op.create_table(
        "payments_callback",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("psp", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=True),
        sa.Column("payment_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_callback")),
    )
    op.create_index(op.f("ix_payments_callback_token"), "payments_callback", ["token"])
    op.create_index(op.f("ix_payments_callback_payment_id"), "payments_callback", ["payment_id"])
    op.create_index(op.f("ix_payments_callback_flagged"), "payments_callback", ["flagged"])
    op.create_table(
        "payments_refund",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("citizen_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("amount_rial", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_refund")),
        sa.UniqueConstraint("reference", "reason", name=op.f("uq_payments_refund_reference")),
    )
    op.create_index(op.f("ix_payments_refund_citizen_id"), "payments_refund", ["citizen_id"])
    op.create_index(op.f("ix_payments_refund_reference"), "payments_refund", ["reference"])
    op.create_table(
        "payments_reconciliation_run",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clean", sa.Boolean(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_reconciliation_run")),
    )
    op.create_index(
        op.f("ix_payments_reconciliation_run_ran_at"), "payments_reconciliation_run", ["ran_at"]
    )
    op.create_table(
        "payments_sandbox_transaction",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("psp", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.String(length=36), nullable=False),
        sa.Column("amount_rial", sa.BigInteger(), nullable=False),
        sa.Column("merchant_name", sa.String(length=100), nullable=False),
        sa.Column("callback_url", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scenario", sa.String(length=24), nullable=False),
        sa.Column("card_mask", sa.String(length=32), nullable=True),
        sa.Column("trace_no", sa.String(length=40), nullable=True),
        sa.Column("rrn", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_payments_sandbox_transaction")),
    )
    op.create_index(
        op.f("ix_payments_sandbox_transaction_payment_id"),
        "payments_sandbox_transaction",
        ["payment_id"],
    )
    op.create_table(
        "payments_sandbox_switch",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_payments_sandbox_switch")),
    )


def downgrade() -> None:
    op.drop_table("payments_sandbox_switch")
    op.drop_table("payments_sandbox_transaction")
    op.drop_table("payments_reconciliation_run")
    op.drop_table("payments_refund")
    op.drop_table("payments_callback")
    op.drop_table("payments_order")
    op.drop_table("payments_entry")
    op.drop_table("payments_transaction")
    op.drop_table("payments_account")
