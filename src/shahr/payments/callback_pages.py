"""The PSP's callback: where the bank's page sends the payer back, and its rate limits."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from shahr.kernel.access import Admits
from shahr.kernel.cache import RateLimiter
from shahr.kernel.errors import NotFoundError
from shahr.kernel.web.deps import BusDep, ClockDep, DatabaseDep, RateLimiterDep
from shahr.payments import services
from shahr.payments.api import PspDep
from shahr.payments.domain import (
    ForgedCallbackError,
    PaymentOrder,
    too_many_callbacks,
    too_many_callbacks_for_payment,
)
from shahr.payments.gateways import PaymentGateway

CALLBACK_WINDOW_S = 60
# Carrier NAT puts many phones behind one address, so an address alone is limited loosely;
# each payment is limited tightly: a payer's browser brings a payment back once or twice.
CALLBACKS_PER_ADDRESS = 600
CALLBACKS_PER_PAYMENT = 10
# A callback whose signature fails is recorded and flagged (a write each): an address that
# sends many is trying signatures, and is refused those long before its loose limit.
FORGED_CALLBACKS_PER_ADDRESS = 30

router = APIRouter(tags=["payments"])


def return_address(order: PaymentOrder) -> str:
    """Where the citizen goes after the bank: the payer's page, told which payment it was."""
    separator = "&" if "?" in order.return_url else "?"
    query = urlencode({"payment_id": order.id, "payment_status": order.status.value})
    return f"{order.return_url}{separator}{query}"


@router.get(
    "/payments/callback/{psp_name}",
    dependencies=[Depends(Admits(public=True))],
    status_code=303,
    responses={303: {"description": "On to the payer's page, told which payment it was."}},
)
async def psp_callback(
    psp_name: str,
    request: Request,
    database: DatabaseDep,
    clock: ClockDep,
    psp: PspDep,
    bus: BusDep,
    rate_limiter: RateLimiterDep,
) -> Response:
    """Where the PSP sends the citizen back with the signed outcome of a payment.

    Public, because the bank's page sends the browser here, but nothing is believed
    unless the callback's signature checks out and the bank's verification agrees; a
    refused callback is recorded and flagged. Duplicates are harmless. Past its limits (per
    payment, per address, and for forged ones per address) a callback is refused (429) unread.
    """
    if psp_name != psp.name:
        raise NotFoundError("Nothing was found at this address.")
    address = request.client.host if request.client else "unknown"
    params = dict(request.query_params)
    await _within_limits(rate_limiter, psp, address, params)
    result = await services.handle_callback(database, clock, psp, bus, params=params)
    return RedirectResponse(return_address(result.payment), status_code=303)


async def _within_limits(
    limiter: RateLimiter, psp: PaymentGateway, address: str, params: Mapping[str, str]
) -> None:
    """Refuse a callback past its limits. The signature is checked here only to pick the
    limit (an HMAC, no I/O); the service reads the callback again as it takes it."""
    loose = await limiter.hit(
        f"payments:callback:{address}", limit=CALLBACKS_PER_ADDRESS, window_s=CALLBACK_WINDOW_S
    )
    if not loose.allowed:
        raise too_many_callbacks(loose.retry_after_s)
    try:
        payment_id = psp.read_callback(params).payment_id
    except ForgedCallbackError:
        forged = await limiter.hit(
            f"payments:callback-forged:{address}",
            limit=FORGED_CALLBACKS_PER_ADDRESS,
            window_s=CALLBACK_WINDOW_S,
        )
        if not forged.allowed:
            raise too_many_callbacks(forged.retry_after_s) from None
        return
    per_payment = await limiter.hit(
        f"payments:callback-payment:{psp.name}:{payment_id}",
        limit=CALLBACKS_PER_PAYMENT,
        window_s=CALLBACK_WINDOW_S,
    )
    if not per_payment.allowed:
        raise too_many_callbacks_for_payment(per_payment.retry_after_s)
