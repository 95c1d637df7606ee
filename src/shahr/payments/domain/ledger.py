"""The double-entry ledger: accounts, balanced transactions, and balances derived from entries.

The ledger's sign convention: an account's balance is the sum of its entries. A citizen's
wallet holds what the city owes the citizen (positive), revenue accounts hold what the city
earned (positive), the PSP clearing account holds what the PSP owes the city (negative until
settled), demo funding goes negative as demo balances are handed out. Every transaction's
entries sum to zero, so all balances together always sum to zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shahr.kernel.money import Rial
from shahr.payments.domain.errors import LedgerImbalanceError, insufficient_balance
from shahr.payments.domain.vocabulary import (
    AccountId,
    AccountKind,
    PaymentId,
    Purpose,
    RefundId,
    TransactionId,
    TransactionKind,
)

DEMO_WALLET_RIAL = Rial(2_000_000)


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
class PaidFor:
    """What a payment bought, as its payer names it: a bay on a street.

    Kept as data, the street in both languages, so each page names it in its reader's.
    """

    street_fa: str
    street_en: str
    bay_number: int

    def as_data(self) -> dict[str, str | int]:
        return {"street_fa": self.street_fa, "street_en": self.street_en, "bay": self.bay_number}

    @classmethod
    def from_data(cls, data: Mapping[str, object] | None) -> PaidFor | None:
        """Read back what `as_data` stored; None for an order that named nothing."""
        if not data:
            return None
        bay = data.get("bay")
        return cls(
            street_fa=str(data.get("street_fa", "")),
            street_en=str(data.get("street_en", "")),
            bay_number=bay if isinstance(bay, int) else 0,
        )


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
    # What the payment (or the refund of one) was for, when its payer said.
    paid_for: PaidFor | None = None


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
