"""The ids and closed sets the payments area speaks in."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType

PaymentId = NewType("PaymentId", str)
RefundId = NewType("RefundId", str)
AccountId = NewType("AccountId", str)
TransactionId = NewType("TransactionId", str)


class Purpose(StrEnum):
    reservation = "reservation"
    extension = "extension"
    parking_session = "parking_session"
    fine = "fine"
    top_up = "top_up"


class Method(StrEnum):
    psp = "psp"
    wallet = "wallet"


class PaymentStatus(StrEnum):
    created = "created"
    redirected = "redirected"
    callback_received = "callback_received"
    verified = "verified"
    settled = "settled"
    failed = "failed"
    cancelled = "cancelled"
    reversed = "reversed"
    expired = "expired"


class AccountKind(StrEnum):
    citizen_wallet = "citizen_wallet"
    psp_clearing = "psp_clearing"
    city_parking_revenue = "city_parking_revenue"
    city_fines_revenue = "city_fines_revenue"
    demo_funding = "demo_funding"


class TransactionKind(StrEnum):
    payment = "payment"
    top_up = "top_up"
    refund = "refund"
    demo_credit = "demo_credit"


class CallbackOutcome(StrEnum):
    """What became of one callback; all but `accepted` and `duplicate` are flagged."""

    accepted = "accepted"
    duplicate = "duplicate"
    forged = "forged"
    amount_mismatch = "amount_mismatch"
    unknown_payment = "unknown_payment"
    late = "late"


FLAGGED_OUTCOMES = frozenset(
    {
        CallbackOutcome.forged,
        CallbackOutcome.amount_mismatch,
        CallbackOutcome.unknown_payment,
        CallbackOutcome.late,
    }
)

PAID_STATUSES = frozenset({PaymentStatus.verified, PaymentStatus.settled})
CLOSED_STATUSES = frozenset(
    {PaymentStatus.failed, PaymentStatus.cancelled, PaymentStatus.reversed, PaymentStatus.expired}
)
AWAITING_CALLBACK = frozenset({PaymentStatus.created, PaymentStatus.redirected})
