"""Payment orders and their states, from the first request to settlement, and receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shahr.kernel.money import Rial
from shahr.payments.domain.errors import (
    InvalidPaymentRequestError,
    NoReceiptError,
    PaymentStateError,
    invalid_amount,
    psp_amount_too_small,
)
from shahr.payments.domain.ledger import (
    Entry,
    JournalTransaction,
    PaidFor,
    payment_key,
    psp_clearing_account,
    revenue_account,
    wallet_account,
)
from shahr.payments.domain.vocabulary import (
    AWAITING_CALLBACK,
    CLOSED_STATUSES,
    PAID_STATUSES,
    Method,
    PaymentId,
    PaymentStatus,
    Purpose,
    TransactionId,
    TransactionKind,
)

# The citizen has this long at the bank's page; the PSP refuses the token afterwards.
PAYMENT_WINDOW = timedelta(minutes=15)
# After the callback, the payment must be verified within this time or it is reversed
# (Shaparak PSPs reverse an unverified payment on their own after about half an hour).
VERIFY_WINDOW = timedelta(minutes=15)
# Shaparak refuses card payments under 1,000 Toman; a wallet can pay any positive amount.
MIN_PSP_AMOUNT_RIAL = Rial(10_000)
MAX_PAYMENT_RIAL = Rial(500_000_000)
MAX_REFERENCE_LENGTH = 120
MAX_STREET_LENGTH = 150
MERCHANT_NAME_FA = "شهرداری تهران"

_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.created: frozenset(
        {PaymentStatus.redirected, PaymentStatus.verified, PaymentStatus.failed}
    ),
    PaymentStatus.redirected: frozenset(
        {
            PaymentStatus.callback_received,
            PaymentStatus.failed,
            PaymentStatus.cancelled,
            PaymentStatus.expired,
            PaymentStatus.reversed,
        }
    ),
    PaymentStatus.callback_received: frozenset(
        {PaymentStatus.verified, PaymentStatus.failed, PaymentStatus.reversed}
    ),
    # Once booked, money leaves only by a refund: a verified payment is never reversed.
    PaymentStatus.verified: frozenset({PaymentStatus.settled}),
}


def check_amount(amount_rial: int, method: Method) -> Rial:
    if not isinstance(amount_rial, int) or isinstance(amount_rial, bool):
        raise invalid_amount()
    if not 0 < amount_rial <= MAX_PAYMENT_RIAL:
        raise invalid_amount()
    if method is Method.psp and amount_rial < MIN_PSP_AMOUNT_RIAL:
        raise psp_amount_too_small()
    return Rial(amount_rial)


def parse_purpose(text: str) -> Purpose:
    try:
        return Purpose(text)
    except ValueError:
        raise InvalidPaymentRequestError(
            "Unknown payment purpose {purpose}.", field="purpose", purpose=text
        ) from None


def parse_method(text: str) -> Method:
    try:
        return Method(text)
    except ValueError:
        raise InvalidPaymentRequestError(
            "Pay by card (psp) or from the wallet (wallet).", field="method"
        ) from None


def check_reference(reference: str) -> str:
    text = reference.strip()
    if not text or len(text) > MAX_REFERENCE_LENGTH or any(ord(c) < 0x20 for c in text):
        raise InvalidPaymentRequestError(
            "The payment reference must be 1 to 120 printable characters.", field="reference"
        )
    return text


def check_paid_for(paid_for: PaidFor) -> PaidFor:
    """A street named in both languages, up to 150 characters, and a bay numbered from 1."""
    streets = (paid_for.street_fa.strip(), paid_for.street_en.strip())
    if (
        not all(streets)
        or any(len(street) > MAX_STREET_LENGTH for street in streets)
        or paid_for.bay_number < 1
    ):
        raise InvalidPaymentRequestError(
            "What a payment is for names a street and a bay number.", field="paid_for"
        )
    return PaidFor(streets[0], streets[1], paid_for.bay_number)


def check_return_url(url: str) -> str:
    """A path on this site: the citizen is sent there afterwards, so it is no open redirect."""
    if (
        not url.startswith("/")
        or url.startswith("//")
        or "\\" in url
        or len(url) > 300
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in url)
    ):
        raise InvalidPaymentRequestError(
            "The return address must be a path on this site.", field="return_url"
        )
    return url


@dataclass
class PaymentOrder:
    """A request for money for one purpose, and where it stands.

    created -> redirected -> callback_received -> verified -> settled for a card payment;
    created -> verified -> settled at once for a wallet payment; or it ends failed,
    cancelled, reversed (money returned by the PSP) or expired (no callback in time).
    """

    id: PaymentId
    citizen_id: str
    purpose: Purpose
    reference: str
    amount_rial: Rial
    method: Method
    return_url: str
    created_at: datetime
    expires_at: datetime
    status: PaymentStatus = PaymentStatus.created
    psp: str | None = None
    token: str | None = None
    redirected_at: datetime | None = None
    callback_at: datetime | None = None
    verify_by: datetime | None = None
    verified_at: datetime | None = None
    settled_at: datetime | None = None
    closed_at: datetime | None = None
    failure_reason: str | None = None
    trace_no: str | None = None
    rrn: str | None = None
    card_mask: str | None = None
    paid_for: PaidFor | None = None

    @classmethod
    def new(
        cls,
        payment_id: PaymentId,
        *,
        citizen_id: str,
        purpose: Purpose,
        reference: str,
        amount_rial: int,
        method: Method,
        return_url: str,
        psp: str | None,
        now: datetime,
        paid_for: PaidFor | None = None,
        pay_by: datetime | None = None,
    ) -> PaymentOrder:
        """A new order; `pay_by` (the payer's own deadline, a hold's end) shortens its window."""
        if purpose is Purpose.top_up and method is Method.wallet:
            raise InvalidPaymentRequestError(
                "A wallet is topped up by card, not from itself.", field="method"
            )
        return cls(
            id=payment_id,
            citizen_id=citizen_id,
            purpose=purpose,
            reference=check_reference(reference),
            amount_rial=check_amount(amount_rial, method),
            method=method,
            return_url=check_return_url(return_url),
            created_at=now,
            # The bank's page and the payer's page then name the same deadline.
            expires_at=min(now + PAYMENT_WINDOW, pay_by) if pay_by else now + PAYMENT_WINDOW,
            psp=psp if method is Method.psp else None,
            paid_for=None if paid_for is None else check_paid_for(paid_for),
        )

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def _move(self, to: PaymentStatus) -> None:
        if to not in _TRANSITIONS.get(self.status, frozenset()):
            raise PaymentStateError("This payment can no longer be changed this way.")
        self.status = to

    def redirect(self, token: str, *, at: datetime) -> None:
        self._move(PaymentStatus.redirected)
        self.token = token
        self.redirected_at = at

    def receive_callback(
        self, *, at: datetime, trace_no: str | None, rrn: str | None, card_mask: str | None
    ) -> None:
        self._move(PaymentStatus.callback_received)
        self.callback_at = at
        self.verify_by = at + VERIFY_WINDOW
        self.trace_no = trace_no
        self.rrn = rrn
        self.card_mask = card_mask

    def verify(
        self,
        *,
        at: datetime,
        trace_no: str | None = None,
        rrn: str | None = None,
        card_mask: str | None = None,
    ) -> None:
        self._move(PaymentStatus.verified)
        self.verified_at = at
        self.trace_no = trace_no or self.trace_no
        self.rrn = rrn or self.rrn
        self.card_mask = card_mask or self.card_mask

    def settle(self, *, at: datetime) -> None:
        self._move(PaymentStatus.settled)
        self.settled_at = at

    def fail(self, reason: str, *, at: datetime) -> None:
        self._move(PaymentStatus.failed)
        self.failure_reason = reason
        self.closed_at = at

    def cancel(self, *, at: datetime) -> None:
        self._move(PaymentStatus.cancelled)
        self.failure_reason = "cancelled"
        self.closed_at = at

    def reverse(self, reason: str, *, at: datetime) -> None:
        self._move(PaymentStatus.reversed)
        self.failure_reason = reason
        self.closed_at = at

    def expire(self, *, at: datetime) -> None:
        self._move(PaymentStatus.expired)
        self.failure_reason = "expired"
        self.closed_at = at

    def overdue(self, now: datetime) -> bool:
        """Past its window: no callback by `expires_at`, or no verification by `verify_by`."""
        if self.status in AWAITING_CALLBACK:
            return now >= self.expires_at
        if self.status is PaymentStatus.callback_received and self.verify_by is not None:
            return now >= self.verify_by
        return False

    def payment_transaction(
        self, transaction_id: TransactionId, *, at: datetime
    ) -> JournalTransaction:
        """What verifying books: the PSP or the wallet pays the revenue account (or the
        wallet, for a top-up)."""
        if self.method is Method.wallet:
            source = wallet_account(self.citizen_id)
        else:
            if self.psp is None:
                raise ValueError("a card payment names its PSP")
            source = psp_clearing_account(self.psp)
        if self.purpose is Purpose.top_up:
            target, kind, memo = wallet_account(self.citizen_id), TransactionKind.top_up, "Top-up"
        else:
            target, kind = revenue_account(self.purpose), TransactionKind.payment
            memo = f"Payment for {self.purpose.value}"
        return JournalTransaction(
            id=transaction_id,
            kind=kind,
            idempotency_key=payment_key(self.id),
            entries=(Entry(source, Rial(-self.amount_rial)), Entry(target, self.amount_rial)),
            created_at=at,
            memo=memo,
            reference=self.reference,
            payment_id=self.id,
        )


# --- receipts ---


@dataclass(frozen=True)
class Receipt:
    """What the citizen keeps as proof of payment."""

    payment_id: PaymentId
    citizen_id: str
    purpose: Purpose
    reference: str
    amount_rial: Rial
    method: Method
    status: PaymentStatus
    paid_at: datetime
    merchant_name: str
    psp: str | None
    trace_no: str | None
    rrn: str | None
    card_mask: str | None
    # The page of what was paid for (the payer's return address: a path on this site).
    paid_for_url: str | None = None
    paid_for: PaidFor | None = None


def receipt_of(order: PaymentOrder, *, merchant_name: str = MERCHANT_NAME_FA) -> Receipt:
    if not order.is_paid or order.verified_at is None:
        raise NoReceiptError("This payment has not been paid, so it has no receipt yet.")
    return Receipt(
        payment_id=order.id,
        citizen_id=order.citizen_id,
        purpose=order.purpose,
        reference=order.reference,
        amount_rial=order.amount_rial,
        method=order.method,
        status=order.status,
        paid_at=order.verified_at,
        merchant_name=merchant_name,
        psp=order.psp,
        trace_no=order.trace_no,
        rrn=order.rrn,
        card_mask=order.card_mask,
        paid_for_url=order.return_url,
        paid_for=order.paid_for,
    )
