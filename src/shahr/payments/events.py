"""What happened in payments, for other areas to react to (published after the commit).

`event_id` is derived from the fact (`PaymentVerified:<payment id>`), so publishing the same
fact twice is recognised by the stream's duplicate window and handlers see it once.
Handlers must still be idempotent: delivery is at least once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shahr.kernel.message_ids import message_id

if TYPE_CHECKING:
    from shahr.payments.domain import CallbackOutcome, PaymentOrder


@dataclass(frozen=True)
class PaymentVerified:
    """The money is ours: booked in the ledger. Parking confirms the reservation on this."""

    payment_id: str
    citizen_id: str
    purpose: str
    reference: str
    amount_rial: int
    verified_at: datetime
    event_id: str
    # "psp" (card, through the bank) or "wallet". A payload from before the field goes the
    # card way, whose idempotency record answers for a wallet payment taken already.
    method: str = "psp"

    @classmethod
    def of(cls, order: PaymentOrder) -> PaymentVerified:
        if order.verified_at is None:
            raise ValueError("only a verified payment makes a PaymentVerified")
        return cls(
            payment_id=order.id,
            citizen_id=order.citizen_id,
            purpose=order.purpose.value,
            reference=order.reference,
            amount_rial=int(order.amount_rial),
            verified_at=order.verified_at,
            event_id=message_id("PaymentVerified", order.id),
            method=order.method.value,
        )


@dataclass(frozen=True)
class PaymentFailed:
    """The payment ended without money changing hands (declined, cancelled, expired...)."""

    payment_id: str
    citizen_id: str
    purpose: str
    reference: str
    reason: str
    failed_at: datetime
    event_id: str

    @classmethod
    def of(cls, order: PaymentOrder, *, at: datetime) -> PaymentFailed:
        return cls(
            payment_id=order.id,
            citizen_id=order.citizen_id,
            purpose=order.purpose.value,
            reference=order.reference,
            reason=order.failure_reason or order.status.value,
            failed_at=at,
            event_id=message_id("PaymentFailed", order.id),
        )


@dataclass(frozen=True)
class PaymentReversed:
    """The PSP gave the money back to the card because the payment was never verified."""

    payment_id: str
    citizen_id: str
    purpose: str
    reference: str
    amount_rial: int
    reason: str
    reversed_at: datetime
    event_id: str

    @classmethod
    def of(cls, order: PaymentOrder, *, at: datetime) -> PaymentReversed:
        return cls(
            payment_id=order.id,
            citizen_id=order.citizen_id,
            purpose=order.purpose.value,
            reference=order.reference,
            amount_rial=int(order.amount_rial),
            reason=order.failure_reason or "reversed",
            reversed_at=at,
            event_id=message_id("PaymentReversed", order.id),
        )


@dataclass(frozen=True)
class RefundIssued:
    refund_id: str
    citizen_id: str
    reference: str
    amount_rial: int
    issued_at: datetime
    event_id: str


@dataclass(frozen=True)
class CallbackFlagged:
    """A callback was refused (forged, unknown, wrong amount, late): for the operators."""

    callback_id: int
    psp: str
    payment_id: str | None
    outcome: str
    received_at: datetime
    event_id: str

    @classmethod
    def of(
        cls,
        callback_id: int,
        *,
        psp: str,
        payment_id: str | None,
        outcome: CallbackOutcome,
        at: datetime,
    ) -> CallbackFlagged:
        return cls(
            callback_id=callback_id,
            psp=psp,
            payment_id=payment_id,
            outcome=outcome.value,
            received_at=at,
            event_id=message_id("CallbackFlagged", psp, callback_id),
        )
