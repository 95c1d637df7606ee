"""The sandbox bank's own record of a payment: its status, the scenario played, the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shahr.kernel.money import Rial
from shahr.payments.persistence import SandboxTransactionRow


class SandboxScenario(StrEnum):
    normal = "normal"
    decline = "decline"
    timeout = "timeout"
    duplicate_callback = "duplicate_callback"
    no_callback = "no_callback"


class SandboxStatus(StrEnum):
    pending = "pending"
    paid = "paid"
    declined = "declined"
    cancelled = "cancelled"
    verified = "verified"
    settled = "settled"
    reversed = "reversed"
    expired = "expired"


DOWN_SWITCH = "down"


@dataclass(frozen=True)
class SandboxTransaction:
    token: str
    psp: str
    payment_id: str
    amount_rial: Rial
    merchant_name: str
    callback_url: str
    status: SandboxStatus
    scenario: SandboxScenario
    card_mask: str | None
    trace_no: str | None
    rrn: str | None
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    verified_at: datetime | None
    settled_at: datetime | None
    reversed_at: datetime | None


def transaction_of(row: SandboxTransactionRow) -> SandboxTransaction:
    return SandboxTransaction(
        token=row.token,
        psp=row.psp,
        payment_id=row.payment_id,
        amount_rial=Rial(row.amount_rial),
        merchant_name=row.merchant_name,
        callback_url=row.callback_url,
        status=SandboxStatus(row.status),
        scenario=SandboxScenario(row.scenario),
        card_mask=row.card_mask,
        trace_no=row.trace_no,
        rrn=row.rrn,
        created_at=row.created_at,
        expires_at=row.expires_at,
        paid_at=row.paid_at,
        verified_at=row.verified_at,
        settled_at=row.settled_at,
        reversed_at=row.reversed_at,
    )


@dataclass(frozen=True)
class BankAnswer:
    """Where the bank page sends the citizen after Pay or Cancel.

    `callback_url` is the merchant's callback address with the signed outcome, or None when
    the callback never comes. `deliver_twice` asks for the callback to arrive twice.
    """

    transaction: SandboxTransaction
    callback_url: str | None
    callback_params: dict[str, str]
    deliver_twice: bool = False
