"""Payments' use cases: start a payment, take the PSP's callback, verify, refund, reconcile.

Two rules hold throughout. No database transaction is open while the PSP is called (a
PSP can take seconds, and SQLite has one writer), so each step reads, calls the PSP, then
locks and re-checks before it writes. Events are published after the commit.
"""

from __future__ import annotations

from shahr.payments.services.callbacks import (
    LATE,
    MAX_EVIDENCE_CHARS,
    MAX_EVIDENCE_FIELDS,
    CallbackResult,
    handle_callback,
    verify_payment,
)
from shahr.payments.services.reconciliation import (
    abandon_payment,
    give_up_on,
    reconcile,
    report_as_dict,
)
from shahr.payments.services.refunds import refund
from shahr.payments.services.starts import (
    PaymentStart,
    pay_from_wallet_within,
    request_payment,
    top_up_wallet,
)
from shahr.payments.services.wallet import (
    STATEMENT_LINES,
    ensure_demo_wallet,
    wallet_balance,
    wallet_statement,
)

__all__ = [
    "LATE",
    "MAX_EVIDENCE_CHARS",
    "MAX_EVIDENCE_FIELDS",
    "STATEMENT_LINES",
    "CallbackResult",
    "PaymentStart",
    "abandon_payment",
    "ensure_demo_wallet",
    "give_up_on",
    "handle_callback",
    "pay_from_wallet_within",
    "reconcile",
    "refund",
    "report_as_dict",
    "request_payment",
    "top_up_wallet",
    "verify_payment",
    "wallet_balance",
    "wallet_statement",
]
