"""What happened in payments, for other areas to react to (published after the commit).

`event_id` is derived from the fact (`PaymentVerified:<payment id>`), so publishing the same
fact twice is recognised by the stream's duplicate window and handlers see it once.
Handlers must still be idempotent: delivery is at least once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
