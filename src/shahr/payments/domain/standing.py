"""Where a payment stands, in the words the citizen and the staff both read.

A payment the bank has not yet answered for is *in doubt*: the card may have been debited
(the callback was lost, or the verification timed out) and nothing may be paid again for
the same thing until the bank answers, or reconciliation decides at `decided_by`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shahr.payments.domain.orders import PaymentOrder
from shahr.payments.domain.vocabulary import PAID_STATUSES, PaymentStatus


def _(message: str) -> str:
    """Marks a message id kept in a table, so the translation test finds it."""
    return message


class Standing(StrEnum):
    in_doubt = "in_doubt"
    confirmed = "confirmed"
    failed = "failed"
    returned = "returned"
    refunded = "refunded"


# The one wording of each standing: the citizen's reservation page and the staff's
# reconciliation view show these same message ids.
STANDING_LABELS: dict[Standing, str] = {
    Standing.in_doubt: _("Checking with the bank"),
    Standing.confirmed: _("Paid"),
    Standing.failed: _("Not paid"),
    Standing.returned: _("Returned to the card by the bank"),
    Standing.refunded: _("Refunded to the wallet"),
}

STANDING_EXPLANATIONS: dict[Standing, str] = {
    Standing.in_doubt: _(
        "The bank has not confirmed this payment yet. If it confirms it by {time}, it counts"
        " as paid; otherwise, if your account was debited, the bank returns the money within"
        " 72 hours."
    ),
    Standing.confirmed: _("The bank confirmed this payment."),
    Standing.failed: _(
        "This payment did not go through. If your account was debited, the bank returns the"
        " money within 72 hours."
    ),
    Standing.returned: _(
        "The bank could not confirm this payment in time and has been told to return it: if"
        " your account was debited, the money comes back to it within 72 hours."
    ),
    Standing.refunded: _("This payment was refunded to your wallet."),
}


def standing_of(order: PaymentOrder, *, refunded_rial: int = 0) -> Standing:
    """In doubt while the bank may still answer; `refunded_rial` is what went back for it."""
    if order.status in PAID_STATUSES:
        return Standing.refunded if refunded_rial > 0 else Standing.confirmed
    if order.status is PaymentStatus.reversed:
        return Standing.returned
    if order.is_closed:
        return Standing.failed
    return Standing.in_doubt


def decided_by(order: PaymentOrder) -> datetime | None:
    """When reconciliation settles a payment in doubt: verified or reversed by then."""
    if order.status is PaymentStatus.callback_received and order.verify_by is not None:
        return order.verify_by
    if order.status in (PaymentStatus.created, PaymentStatus.redirected):
        return order.expires_at
    return None
