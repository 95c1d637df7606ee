"""Refunds: money given back to a citizen's wallet, never more than was paid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shahr.kernel.money import Rial
from shahr.payments.domain.errors import (
    InvalidPaymentRequestError,
    NothingPaidError,
    RefundTooLargeError,
    invalid_amount,
)
from shahr.payments.domain.ledger import (
    Entry,
    JournalTransaction,
    refund_key,
    revenue_account,
    wallet_account,
)
from shahr.payments.domain.orders import PaymentOrder
from shahr.payments.domain.vocabulary import Purpose, RefundId, TransactionId, TransactionKind

MAX_REASON_LENGTH = 80


def check_reason(reason: str) -> str:
    """A refund's reason is its idempotency key: a short, stable phrase such as `cancelled`."""
    text = " ".join(reason.split())
    if not text or len(text) > MAX_REASON_LENGTH:
        raise InvalidPaymentRequestError(
            "The refund reason must be 1 to 80 characters.", field="reason"
        )
    return text


@dataclass(frozen=True)
class Refund:
    """Money given back to a citizen's wallet for a reference; one per (reference, reason)."""

    id: RefundId
    citizen_id: str
    reference: str
    amount_rial: Rial
    reason: str
    issued_at: datetime
    transaction_id: TransactionId


def refundable(paid: Iterable[PaymentOrder], refunded_rial: int) -> int:
    """What may still be refunded for a reference: paid purchases minus refunds so far."""
    return sum(o.amount_rial for o in paid if o.purpose is not Purpose.top_up) - refunded_rial


def check_refund(amount_rial: int, *, paid: list[PaymentOrder], refunded_rial: int) -> Rial:
    if not isinstance(amount_rial, int) or isinstance(amount_rial, bool) or amount_rial <= 0:
        raise invalid_amount()
    purchases = [o for o in paid if o.purpose is not Purpose.top_up]
    if not purchases:
        raise NothingPaidError("Nothing was paid for this reference, so nothing can be refunded.")
    if len({o.citizen_id for o in purchases}) != 1:
        raise InvalidPaymentRequestError(
            "Payments for this reference came from more than one citizen.", field="reference"
        )
    if amount_rial > refundable(purchases, refunded_rial):
        raise RefundTooLargeError(
            "The refund is more than what remains of the amount paid.", field="amount_rial"
        )
    return Rial(amount_rial)


def refund_transaction(
    transaction_id: TransactionId,
    *,
    refund_id: RefundId,
    citizen_id: str,
    reference: str,
    reason: str,
    amount_rial: Rial,
    purpose: Purpose,
    at: datetime,
) -> JournalTransaction:
    return JournalTransaction(
        id=transaction_id,
        kind=TransactionKind.refund,
        idempotency_key=refund_key(reference, reason),
        entries=(
            Entry(revenue_account(purpose), Rial(-amount_rial)),
            Entry(wallet_account(citizen_id), amount_rial),
        ),
        created_at=at,
        memo=f"Refund: {reason}",
        reference=reference,
        refund_id=refund_id,
    )
