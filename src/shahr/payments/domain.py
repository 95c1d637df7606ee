"""Payments: payment orders and their states, the double-entry ledger, refunds, receipts.

Pure: amounts are integer Rial, times come in as arguments, nothing here touches the
database, the gateway or the clock.

The ledger's sign convention: an account's balance is the sum of its entries. A citizen's
wallet holds what the city owes the citizen (positive), revenue accounts hold what the city
earned (positive), the PSP clearing account holds what the PSP owes the city (negative until
settled), demo funding goes negative as demo balances are handed out. Every transaction's
entries sum to zero, so all balances together always sum to zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NewType

from shahr.kernel.errors import ConflictError, DomainError, NotFoundError
from shahr.kernel.money import Rial

PaymentId = NewType("PaymentId", str)
RefundId = NewType("RefundId", str)
AccountId = NewType("AccountId", str)
TransactionId = NewType("TransactionId", str)

# The citizen has this long at the bank's page; the PSP refuses the token afterwards.
PAYMENT_WINDOW = timedelta(minutes=15)
# After the callback, the payment must be verified within this time or it is reversed
# (Shaparak PSPs reverse an unverified payment on their own after about half an hour).
VERIFY_WINDOW = timedelta(minutes=15)
# Shaparak refuses card payments under 1,000 Toman; a wallet can pay any positive amount.
MIN_PSP_AMOUNT_RIAL = Rial(10_000)
MAX_PAYMENT_RIAL = Rial(500_000_000)
DEMO_WALLET_RIAL = Rial(2_000_000)
MAX_REFERENCE_LENGTH = 120
MAX_REASON_LENGTH = 80
MERCHANT_NAME_FA = "شهرداری تهران"


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
    {
        PaymentStatus.failed,
        PaymentStatus.cancelled,
        PaymentStatus.reversed,
        PaymentStatus.expired,
    }
)
AWAITING_CALLBACK = frozenset({PaymentStatus.created, PaymentStatus.redirected})

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


# --- errors: English msgids, translated at the edge ---


class InvalidAmountError(DomainError):
    """An amount that is not a positive whole number of Rial within the limits."""


class InvalidPaymentRequestError(DomainError):
    """A purpose, method, reference or return address the payments area cannot accept."""


class InsufficientBalanceError(ConflictError):
    """The wallet holds less than the payment; nothing was written."""


class PaymentNotFoundError(NotFoundError):
    """No such payment among the caller's."""


class PaymentStateError(ConflictError):
    """The payment is not in a state that allows this step."""


class PaymentExpiredError(ConflictError):
    """The payment's time ran out before it was confirmed; any money taken is returned."""


class PspUnavailableError(DomainError):
    """The payment gateway does not answer; nothing was charged."""


class PspTimeoutError(PspUnavailableError):
    """The payment gateway did not answer a verification in time."""


class PspRefusedError(DomainError):
    """The payment gateway refused a request (unknown token, settled payment reversed...)."""


class ForgedCallbackError(DomainError):
    """A callback whose signature does not check out; refused and flagged."""


class UnknownCallbackError(DomainError):
    """A correctly signed callback for a payment we do not know; refused and flagged."""


class AmountMismatchError(DomainError):
    """The amount the bank reports differs from the payment's; refused and flagged."""


class NoReceiptError(ConflictError):
    """The payment has not been paid, so it has no receipt."""


class RefundTooLargeError(ConflictError):
    """A refund larger than what remains of the amount paid for the reference."""


class NothingPaidError(ConflictError):
    """A refund for a reference nothing was paid for."""


class LedgerImbalanceError(DomainError):
    """A journal transaction whose entries do not sum to zero: a programming error."""


def invalid_amount() -> InvalidAmountError:
    return InvalidAmountError(
        "The amount must be a whole number of Rial, more than zero and at most 500,000,000 Rial.",
        field="amount_rial",
    )


def psp_amount_too_small() -> InvalidAmountError:
    return InvalidAmountError("Card payments must be at least 10,000 Rial.", field="amount_rial")


def psp_unavailable() -> PspUnavailableError:
    return PspUnavailableError(
        "The bank's payment gateway is not answering. Nothing was charged; try again in a"
        " few minutes.",
        retry_after_s=60,
    )


def insufficient_balance() -> InsufficientBalanceError:
    return InsufficientBalanceError(
        "Your wallet balance is not enough for this payment. Top up your wallet or pay by"
        " card. Nothing was charged.",
        field="amount_rial",
    )


def payment_not_found() -> PaymentNotFoundError:
    return PaymentNotFoundError("No such payment was found.")


def forged_callback() -> ForgedCallbackError:
    return ForgedCallbackError(
        "This payment confirmation could not be checked and was refused. Nothing was"
        " booked; if money was taken from your card, your bank will return it within 72"
        " hours."
    )


def amount_mismatch() -> AmountMismatchError:
    return AmountMismatchError(
        "The amount the bank confirmed does not match the payment, so the payment was"
        " refused. Nothing was booked; if money was taken from your card, your bank will"
        " return it within 72 hours."
    )


def payment_expired() -> PaymentExpiredError:
    return PaymentExpiredError(
        "This payment took too long and was cancelled. Nothing was booked; if money was"
        " taken from your card, your bank will return it within 72 hours."
    )


# --- accounts ---


def wallet_account(citizen_id: str) -> AccountId:
    return AccountId(f"{AccountKind.citizen_wallet}:{citizen_id}")


def psp_clearing_account(psp: str) -> AccountId:
    return AccountId(f"{AccountKind.psp_clearing}:{psp}")


CITY_PARKING_REVENUE = AccountId(AccountKind.city_parking_revenue.value)
CITY_FINES_REVENUE = AccountId(AccountKind.city_fines_revenue.value)
DEMO_FUNDING = AccountId(AccountKind.demo_funding.value)


def account_kind(account_id: str) -> AccountKind:
    return AccountKind(account_id.split(":", 1)[0])


def may_go_negative(account_id: str) -> bool:
    """Only a citizen's wallet must never go below zero; the city's own accounts may."""
    return account_kind(account_id) is not AccountKind.citizen_wallet


def revenue_account(purpose: Purpose) -> AccountId:
    if purpose is Purpose.top_up:
        raise ValueError("a top-up earns nothing; it credits the wallet")
    return CITY_FINES_REVENUE if purpose is Purpose.fine else CITY_PARKING_REVENUE


# --- the ledger ---


@dataclass(frozen=True)
class Entry:
    """One side of a movement: a positive amount adds to the account's balance."""

    account_id: AccountId
    amount_rial: Rial


@dataclass(frozen=True)
class JournalTransaction:
    """One movement of money: two or more entries that sum to zero, posted at once.

    `idempotency_key` names the business fact (a payment, a refund, a demo credit), so
    the same fact is never booked twice.
    """

    id: TransactionId
    kind: TransactionKind
    idempotency_key: str
    entries: tuple[Entry, ...]
    created_at: datetime
    memo: str
    reference: str | None = None
    payment_id: PaymentId | None = None
    refund_id: RefundId | None = None

    def __post_init__(self) -> None:
        check_balanced(self.entries)

    def deltas(self) -> dict[AccountId, int]:
        """The net change of each account touched."""
        changes: dict[AccountId, int] = {}
        for entry in self.entries:
            changes[entry.account_id] = changes.get(entry.account_id, 0) + entry.amount_rial
        return changes


def check_balanced(entries: Iterable[Entry]) -> None:
    """Refuse a transaction of fewer than two entries, a zero or non-integer entry, or a sum
    other than zero."""
    listed = list(entries)
    if len(listed) < 2:
        raise LedgerImbalanceError("A ledger transaction needs at least two entries.")
    for entry in listed:
        amount = entry.amount_rial
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise LedgerImbalanceError("A ledger entry must be a whole, non-zero Rial amount.")
    if sum(entry.amount_rial for entry in listed) != 0:
        raise LedgerImbalanceError("A ledger transaction's entries must sum to zero.")


def check_postable(transaction: JournalTransaction, balances: Mapping[AccountId, int]) -> None:
    """Refuse a transaction that would take a wallet below zero; `balances` are current."""
    for account_id, delta in transaction.deltas().items():
        if not may_go_negative(account_id) and balances.get(account_id, 0) + delta < 0:
            raise insufficient_balance()


@dataclass
class Books:
    """Balances derived from entries: what the ledger tables must always agree with."""

    balances: dict[AccountId, int] = field(default_factory=dict)

    def post(self, transaction: JournalTransaction) -> None:
        check_postable(transaction, self.balances)
        for account_id, delta in transaction.deltas().items():
            self.balances[account_id] = self.balances.get(account_id, 0) + delta

    def replay(self, entries: Iterable[Entry]) -> None:
        """Add already-posted entries (read back from storage) without checking rules."""
        for entry in entries:
            self.balances[entry.account_id] = (
                self.balances.get(entry.account_id, 0) + entry.amount_rial
            )

    def total(self) -> int:
        """The sum of every balance: zero, always, if the books are sound."""
        return sum(self.balances.values())

    def balance(self, account_id: AccountId) -> int:
        return self.balances.get(account_id, 0)


@dataclass(frozen=True)
class LedgerLine:
    """One entry on an account's statement, with the transaction it belongs to."""

    transaction_id: TransactionId
    kind: TransactionKind
    amount_rial: Rial
    memo: str
    reference: str | None
    payment_id: PaymentId | None
    created_at: datetime


@dataclass(frozen=True)
class WalletStatement:
    citizen_id: str
    balance_rial: Rial
    lines: tuple[LedgerLine, ...]


def demo_credit_key(citizen_id: str) -> str:
    return f"demo_credit:{citizen_id}"


def payment_key(payment_id: str) -> str:
    return f"payment:{payment_id}"


def refund_key(reference: str, reason: str) -> str:
    return f"refund:{reference}:{reason}"


def demo_credit_transaction(
    transaction_id: TransactionId, *, citizen_id: str, amount_rial: Rial, at: datetime
) -> JournalTransaction:
    return JournalTransaction(
        id=transaction_id,
        kind=TransactionKind.demo_credit,
        idempotency_key=demo_credit_key(citizen_id),
        entries=(
            Entry(DEMO_FUNDING, Rial(-amount_rial)),
            Entry(wallet_account(citizen_id), amount_rial),
        ),
        created_at=at,
        memo="Demo wallet balance",
    )


# --- payment orders ---


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


def check_reason(reason: str) -> str:
    """A refund's reason is its idempotency key: a short, stable phrase such as `cancelled`."""
    text = " ".join(reason.split())
    if not text or len(text) > MAX_REASON_LENGTH:
        raise InvalidPaymentRequestError(
            "The refund reason must be 1 to 80 characters.", field="reason"
        )
    return text


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
    ) -> PaymentOrder:
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
            expires_at=now + PAYMENT_WINDOW,
            psp=psp if method is Method.psp else None,
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


# --- refunds ---


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
    )


# --- reconciliation ---


@dataclass
class ReconciliationReport:
    """What one reconciliation run did and what it found wrong."""

    ran_at: datetime
    reversed: list[PaymentId] = field(default_factory=list)
    expired: list[PaymentId] = field(default_factory=list)
    verified: list[PaymentId] = field(default_factory=list)
    settled: list[PaymentId] = field(default_factory=list)
    paid_without_transaction: list[PaymentId] = field(default_factory=list)
    transactions_without_paid_payment: list[TransactionId] = field(default_factory=list)
    unbalanced_transactions: list[TransactionId] = field(default_factory=list)
    balance_mismatches: list[AccountId] = field(default_factory=list)
    flagged_callbacks: int = 0
    books_total_rial: int = 0
    psp_errors: list[str] = field(default_factory=list)

    @property
    def books_balanced(self) -> bool:
        return self.books_total_rial == 0 and not self.unbalanced_transactions

    @property
    def clean(self) -> bool:
        """Nothing a person needs to look at (flagged callbacks are reported, not faults)."""
        return (
            self.books_balanced
            and not self.paid_without_transaction
            and not self.transactions_without_paid_payment
            and not self.balance_mismatches
            and not self.psp_errors
        )
