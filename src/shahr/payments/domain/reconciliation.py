"""What a reconciliation run did and what it found wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shahr.payments.domain.vocabulary import AccountId, PaymentId, TransactionId


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
