"""Payments' API models: `XCreate` in, `XOut` out. Amounts are integer Rial throughout."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from shahr.kernel.money import format_toman, format_toman_and_rial
from shahr.kernel.persian import format_jalali
from shahr.kernel.web import i18n
from shahr.payments.domain import (
    LedgerLine,
    PaymentOrder,
    Receipt,
    WalletStatement,
)
from shahr.payments.services import PaymentStart

# The domain gives the real limits and the error in the user's language; strict only
# refuses `true` or `"12"` standing in for a number.
RialIn = Annotated[int, Field(strict=True, examples=[500_000])]


def _amount_text(amount_rial: int) -> str:
    """A balance as every page shows it: Toman (the amounts themselves stay in Rial)."""
    return format_toman(amount_rial, i18n.current_language.get())


def _exact_amount_text(amount_rial: int) -> str:
    """A receipt's amount as its page shows it: Toman, then the exact Rial."""
    return format_toman_and_rial(amount_rial, i18n.current_language.get())


class TopUpCreate(BaseModel):
    amount_rial: RialIn = Field(description="Rial to add to the wallet, paid by card.")


class PaymentStartOut(BaseModel):
    payment_id: str
    status: str
    method: str
    amount_rial: int
    redirect_url: str | None = Field(
        description="Where to send the citizen to pay at the bank; null when already paid."
    )

    @classmethod
    def of(cls, start: PaymentStart) -> PaymentStartOut:
        return cls(
            payment_id=start.payment_id,
            status=start.status.value,
            method=start.method.value,
            amount_rial=int(start.amount_rial),
            redirect_url=start.redirect_url,
        )


class PaymentOut(BaseModel):
    id: str
    status: str
    purpose: str
    reference: str
    amount_rial: int
    method: str
    psp: str | None
    created_at: datetime
    expires_at: datetime
    verified_at: datetime | None
    settled_at: datetime | None
    closed_at: datetime | None
    failure_reason: str | None
    receipt_url: str | None = Field(description="The receipt page, once paid.")

    @classmethod
    def of(cls, order: PaymentOrder) -> PaymentOut:
        return cls(
            id=order.id,
            status=order.status.value,
            purpose=order.purpose.value,
            reference=order.reference,
            amount_rial=int(order.amount_rial),
            method=order.method.value,
            psp=order.psp,
            created_at=order.created_at,
            expires_at=order.expires_at,
            verified_at=order.verified_at,
            settled_at=order.settled_at,
            closed_at=order.closed_at,
            failure_reason=order.failure_reason,
            receipt_url=f"/payments/{order.id}/receipt" if order.is_paid else None,
        )


class ReceiptOut(BaseModel):
    payment_id: str
    purpose: str
    reference: str
    amount_rial: int
    amount_text: str = Field(
        description="The amount as the receipt page shows it: Toman, then the exact Rial."
    )
    method: str
    status: str
    paid_at: datetime
    paid_at_jalali: str = Field(description="Date and time of payment, Jalali, Tehran time.")
    merchant_name: str
    psp: str | None
    trace_no: str | None
    rrn: str | None
    card_mask: str | None

    @classmethod
    def of(cls, receipt: Receipt) -> ReceiptOut:
        language = i18n.current_language.get()
        return cls(
            payment_id=receipt.payment_id,
            purpose=receipt.purpose.value,
            reference=receipt.reference,
            amount_rial=int(receipt.amount_rial),
            amount_text=_exact_amount_text(receipt.amount_rial),
            method=receipt.method.value,
            status=receipt.status.value,
            paid_at=receipt.paid_at,
            paid_at_jalali=format_jalali(receipt.paid_at, language),
            merchant_name=receipt.merchant_name,
            psp=receipt.psp,
            trace_no=receipt.trace_no,
            rrn=receipt.rrn,
            card_mask=receipt.card_mask,
        )


class LedgerLineOut(BaseModel):
    transaction_id: str
    kind: str
    amount_rial: int = Field(description="Positive adds to the wallet, negative takes from it.")
    memo: str
    reference: str | None
    payment_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, line: LedgerLine) -> LedgerLineOut:
        return cls(
            transaction_id=line.transaction_id,
            kind=line.kind.value,
            amount_rial=int(line.amount_rial),
            memo=line.memo,
            reference=line.reference,
            payment_id=line.payment_id,
            created_at=line.created_at,
        )


class WalletOut(BaseModel):
    citizen_id: str
    balance_rial: int
    balance_text: str
    lines: list[LedgerLineOut] = Field(description="The newest movements first.")

    @classmethod
    def of(cls, statement: WalletStatement) -> WalletOut:
        return cls(
            citizen_id=statement.citizen_id,
            balance_rial=int(statement.balance_rial),
            balance_text=_amount_text(statement.balance_rial),
            lines=[LedgerLineOut.of(line) for line in statement.lines],
        )


class ReconciliationOut(BaseModel):
    ran_at: datetime
    clean: bool
    books_balanced: bool
    books_total_rial: int
    reversed: list[str]
    expired: list[str]
    verified: list[str]
    settled: list[str]
    paid_without_transaction: list[str]
    transactions_without_paid_payment: list[str]
    unbalanced_transactions: list[str]
    balance_mismatches: list[str]
    flagged_callbacks: int
    psp_errors: list[str]

    @classmethod
    def of(cls, report: dict[str, Any]) -> ReconciliationOut:
        return cls.model_validate(report)
