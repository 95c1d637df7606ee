"""The ZarinPal adapter: the payment-gateway port over ZarinPal's v4 REST API.

ZarinPal's callback is not signed: it appends `Authority` and `Status` to the address the
merchant gave. So that address carries our payment id and an HMAC of it, and the callback
is believed only as far as that signature goes: it ties the Authority to our payment, and
the amount comes from verification, never from the query.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from shahr.payments.domain import (
    PaymentOrder,
    PspRefusedError,
    PspTimeoutError,
    PspUnavailableError,
    forged_callback,
    psp_unavailable,
)
from shahr.payments.gateways.port import (
    CALLBACK_PATH,
    SIGNATURE_FIELD,
    CallbackStatus,
    PspCallback,
    PspToken,
    VerifyResult,
    callback_key,
)
from shahr.payments.gateways.zarinpal import protocol
from shahr.payments.gateways.zarinpal.protocol import Answer, SessionStatus

log = logging.getLogger(__name__)

NAME = "zarinpal"
# Our own fields in the callback address; ZarinPal adds `Authority` and `Status`.
PAYMENT_FIELD = "payment"
AUTHORITY_FIELD = "Authority"
STATUS_FIELD = "Status"
MAX_FIELD_CHARS = 100


def sign_payment(key: bytes, payment_id: str) -> str:
    return hmac.new(key, f"{PAYMENT_FIELD}={payment_id}".encode(), hashlib.sha256).hexdigest()


class ZarinPalPsp:
    """ZarinPal's internet payment gateway (zarinpal.com/docs, REST v4), amounts in Rial."""

    def __init__(
        self,
        *,
        merchant_id: str,
        base_url: str,
        public_url: str,
        signing_key: Callable[[], str],
        timeout_s: float = 10.0,
    ) -> None:
        self._merchant_id = merchant_id
        self._base_url = base_url.rstrip("/")
        self._public_url = public_url.rstrip("/")
        # A callable: the deployment's key is read (or, in development, made) on first use.
        self._signing_key = signing_key
        self._timeout = httpx.Timeout(timeout_s)

    @property
    def name(self) -> str:
        return NAME

    def _key(self) -> bytes:
        return callback_key(self._signing_key(), NAME)

    def callback_url(self, payment_id: str) -> str:
        """Where ZarinPal sends the payer back: our payment, signed, on the public site."""
        query = urlencode(
            {PAYMENT_FIELD: payment_id, SIGNATURE_FIELD: sign_payment(self._key(), payment_id)}
        )
        return f"{self._public_url}{CALLBACK_PATH.format(psp=NAME)}?{query}"

    async def request_token(self, order: PaymentOrder) -> PspToken:
        body = {
            "merchant_id": self._merchant_id,
            "amount": int(order.amount_rial),
            "currency": protocol.CURRENCY,
            "description": f"Shahr {order.purpose.value} {order.id}"[
                : protocol.MAX_DESCRIPTION_CHARS
            ],
            "callback_url": self.callback_url(order.id),
            "metadata": {"order_id": order.id},
        }
        answer = await self._call(protocol.REQUEST_PATH, body)
        authority = answer.data.get("authority")
        if answer.code != protocol.SUCCESS or not isinstance(authority, str) or not authority:
            raise _refusal(answer.code, "request")
        start = protocol.START_PAY_PATH.format(authority=authority)
        return PspToken(token=authority, redirect_url=f"{self._base_url}{start}")

    def read_callback(self, params: Mapping[str, str]) -> PspCallback:
        payment_id = str(params.get(PAYMENT_FIELD, ""))[:MAX_FIELD_CHARS]
        given = str(params.get(SIGNATURE_FIELD, ""))
        expected = sign_payment(self._key(), payment_id)
        if not payment_id or not given or not hmac.compare_digest(expected, given):
            raise forged_callback()
        authority = str(params.get(AUTHORITY_FIELD, ""))
        status = str(params.get(STATUS_FIELD, ""))
        if not authority or len(authority) > MAX_FIELD_CHARS or status not in ("OK", "NOK"):
            raise forged_callback()
        return PspCallback(
            token=authority,
            payment_id=payment_id,
            status=CallbackStatus.ok if status == "OK" else CallbackStatus.unpaid,
            amount_rial=None,
            trace_no=None,
            rrn=None,
            card_mask=None,
        )

    async def verify(self, token: str, amount_rial: int) -> VerifyResult:
        body = {"merchant_id": self._merchant_id, "authority": token, "amount": amount_rial}
        answer = await self._call(protocol.VERIFY_PATH, body, verifying=True)
        if answer.ok:
            ref_id = answer.data.get("ref_id")
            card_pan = answer.data.get("card_pan")
            return VerifyResult(
                ok=True,
                code=str(answer.code),
                # A different amount would have been -50: what ZarinPal took is what we sent.
                amount_rial=amount_rial,
                trace_no=None if ref_id is None else str(ref_id),
                card_mask=_receipt_mask(card_pan),
            )
        if answer.code == protocol.AMOUNT_MISMATCH:
            return VerifyResult(ok=False, code="amount_mismatch", amount_rial=0)
        if answer.code == protocol.NOT_PAID:
            return VerifyResult(ok=False, code="not_paid", amount_rial=0)
        if answer.code in protocol.UNKNOWN_AUTHORITY:
            return VerifyResult(ok=False, code="unknown_token", amount_rial=0)
        # Busy, or the merchant's set-up: nothing is known to have changed; verify again later.
        raise _refusal(answer.code, "verify", unavailable=True)

    async def settle(self, token: str) -> None:
        """Nothing to ask: ZarinPal pays verified payments out to the merchant's account on
        its own schedule, and its API has no settlement call."""
        return

    async def reverse(self, token: str) -> bool:
        status = await self.inquiry(token)
        if status in (None, SessionStatus.in_bank, SessionStatus.failed):
            # Nothing was taken (ZarinPal has no call to close a page the payer still has).
            return False
        if status is SessionStatus.reversed:
            return True
        body = {"merchant_id": self._merchant_id, "authority": token}
        answer = await self._call(protocol.REVERSE_PATH, body)
        if answer.code == protocol.SUCCESS:
            return True
        if status is SessionStatus.paid:
            # Not verified, so not ours: ZarinPal returns an unverified payment to the card by
            # itself, whatever reverse.json answers.
            log.info("payments: zarinpal leaves an unverified payment to return itself")
            return True
        if answer.code == protocol.REVERSE_WINDOW_PASSED:
            raise PspRefusedError(
                "The payment gateway's 30 minutes for returning this payment to the card have"
                " passed; it has to be refunded instead."
            )
        # -60 (the bank would not), -62 (the server's IP is not set at ZarinPal), -61...
        log.error("payments: zarinpal refused a reversal", extra={"code": answer.code})
        raise PspRefusedError("The payment gateway refused to return this payment to the card.")

    async def inquiry(self, token: str) -> SessionStatus | None:
        """Where ZarinPal says the payment stands; None if it does not know the authority."""
        body = {"merchant_id": self._merchant_id, "authority": token}
        answer = await self._call(protocol.INQUIRY_PATH, body)
        if answer.code in protocol.UNKNOWN_AUTHORITY:
            return None
        try:
            return SessionStatus(str(answer.data.get("status", "")))
        except ValueError:
            raise _refusal(answer.code, "inquiry", unavailable=True) from None

    async def _call(self, path: str, body: dict[str, Any], *, verifying: bool = False) -> Answer:
        """POST one call; a timeout, a refused connection, a 5xx or an undocumented body
        raise `PspUnavailableError` (a verification's timeout, `PspTimeoutError`)."""
        try:
            # A client per call: a payment makes two or three, and a kept client would be
            # tied to the event loop that first used it.
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(
                    f"{self._base_url}{path}", json=body, headers={"accept": "application/json"}
                )
        except httpx.TimeoutException:
            log.warning("payments: zarinpal did not answer in time", extra={"path": path})
            if verifying:
                raise PspTimeoutError(
                    "The bank did not confirm the payment in time. If it is not confirmed,"
                    " any money taken will be returned to the card within 72 hours."
                ) from None
            raise psp_unavailable() from None
        except httpx.HTTPError as error:
            log.warning(
                "payments: zarinpal unreachable",
                extra={"path": path, "error": type(error).__name__},
            )
            raise psp_unavailable() from None
        answer = None if response.status_code >= 500 else _json_answer(response)
        if answer is None:
            log.warning(
                "payments: zarinpal gave no documented answer",
                extra={"path": path, "status": response.status_code},
            )
            raise psp_unavailable()
        return answer


def _receipt_mask(card_pan: object) -> str | None:
    """ZarinPal's `502229******5995` as Iranian receipts print a card: `5022-29**-****-5995`."""
    if not isinstance(card_pan, str) or len(card_pan) != 16:
        return None
    first, last = card_pan[:6], card_pan[12:]
    if not (first.isascii() and first.isdigit() and last.isascii() and last.isdigit()):
        return None
    return f"{first[:4]}-{first[4:]}**-****-{last}"


def _json_answer(response: httpx.Response) -> Answer | None:
    try:
        return protocol.answer_of(response.json())
    except ValueError:
        return None


def _refusal(
    code: int, call: str, *, unavailable: bool = False
) -> PspRefusedError | PspUnavailableError:
    """The citizen's words for a code ZarinPal refused with; the code goes to the log."""
    if code in protocol.TERMINAL_PROBLEMS:
        # Only the city's operators can fix the merchant account: say so loudly, once a call.
        log.error("payments: zarinpal refused the merchant", extra={"call": call, "code": code})
    else:
        log.warning("payments: zarinpal refused", extra={"call": call, "code": code})
    if code == protocol.TOO_MANY_ATTEMPTS:
        return PspUnavailableError(
            "The payment gateway is busy. Nothing was charged; try again in a minute.",
            retry_after_s=60,
        )
    if unavailable:
        return psp_unavailable()
    if code in protocol.TERMINAL_PROBLEMS:
        return PspRefusedError(
            "The city's account at the payment gateway is not taking payments at the moment."
            " Nothing was charged; try again later or pay another way."
        )
    return PspRefusedError(
        "The payment gateway refused this payment. Nothing was charged; try again later or pay"
        " another way."
    )
