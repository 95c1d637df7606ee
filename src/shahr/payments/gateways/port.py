"""The payment-gateway port, shaped like Iran's Shaparak PSPs, and its signed callbacks.

A Shaparak payment: the merchant asks the PSP for a token, sends the citizen to the PSP's
page, the PSP sends the citizen back to the merchant's callback address with the outcome,
and the merchant then verifies (the money is the merchant's only after this; verifying
twice answers the same) and settles. A payment not verified in time is reversed: the card
gets its money back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from shahr.kernel.container import Part
from shahr.payments.domain import PaymentOrder, forged_callback

CALLBACK_PATH = "/payments/callback/{psp}"
SIGNATURE_FIELD = "sig"
# What a callback carries and its signature covers; anything else in the query is ignored.
CALLBACK_FIELDS = ("token", "payment_id", "status", "amount_rial", "trace_no", "rrn", "card")


class CallbackStatus(StrEnum):
    ok = "ok"
    declined = "declined"
    cancelled = "cancelled"
    # The PSP says only that it was not paid, declined and cancelled alike (ZarinPal's NOK).
    unpaid = "unpaid"


@dataclass(frozen=True)
class PspToken:
    token: str
    redirect_url: str


@dataclass(frozen=True)
class PspCallback:
    """A callback whose signature checked out; its content may still disagree with ours.

    `amount_rial` is None where the PSP's callback names no amount (ZarinPal's): the amount
    is then checked by verification alone.
    """

    token: str
    payment_id: str
    status: CallbackStatus
    amount_rial: int | None
    trace_no: str | None
    rrn: str | None
    card_mask: str | None


@dataclass(frozen=True)
class VerifyResult:
    """The PSP's answer to a verification; `ok` means the money is the merchant's."""

    ok: bool
    code: str
    amount_rial: int
    trace_no: str | None = None
    rrn: str | None = None
    card_mask: str | None = None


class PaymentGateway(Protocol):
    """A Shaparak-style PSP. Every call may raise `PspUnavailableError` (down) and
    `verify` may raise `PspTimeoutError`; both mean: nothing is known to have changed."""

    @property
    def name(self) -> str: ...

    async def request_token(self, order: PaymentOrder) -> PspToken:
        """Register the payment at the PSP; where to send the citizen to pay."""
        ...

    def read_callback(self, params: Mapping[str, str]) -> PspCallback:
        """Check the callback's signature and read it; `ForgedCallbackError` if it fails.

        No I/O: the callback route also reads it to choose its rate limit."""
        ...

    async def verify(self, token: str, amount_rial: int) -> VerifyResult:
        """Confirm the payment (idempotent: a second call answers the same)."""
        ...

    async def settle(self, token: str) -> None:
        """Ask the PSP to pay the verified amount out to the city (idempotent)."""
        ...

    async def reverse(self, token: str) -> bool:
        """Give an unverified payment back to the card; True if money had been taken."""
        ...


def callback_key(signing_key: str, psp: str) -> bytes:
    """Each PSP signs with its own key, derived from the deployment's secret."""
    return hmac.new(
        signing_key.encode(), f"payments/psp-callback/{psp}".encode(), "sha256"
    ).digest()


def sign_callback(key: bytes, fields: Mapping[str, str]) -> str:
    message = "\n".join(f"{name}={fields.get(name, '')}" for name in CALLBACK_FIELDS)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def read_signed_callback(key: bytes, params: Mapping[str, str]) -> PspCallback:
    """The callback, if its signature is right and its fields make sense; else refused."""
    fields = {name: str(params.get(name, "")) for name in CALLBACK_FIELDS}
    given = str(params.get(SIGNATURE_FIELD, ""))
    if not given or not hmac.compare_digest(sign_callback(key, fields), given):
        raise forged_callback()
    try:
        status = CallbackStatus(fields["status"])
        amount = int(fields["amount_rial"])
    except ValueError:
        raise forged_callback() from None
    if not fields["token"] or not fields["payment_id"]:
        raise forged_callback()
    return PspCallback(
        token=fields["token"],
        payment_id=fields["payment_id"],
        status=status,
        amount_rial=amount,
        trace_no=fields["trace_no"] or None,
        rrn=fields["rrn"] or None,
        card_mask=fields["card"] or None,
    )


PSP: Part[PaymentGateway] = Part("payments.psp")
