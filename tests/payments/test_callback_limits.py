"""The callback's rate limits: per payment, and loosely per address, since carrier NAT puts
many phones behind one address; forged callbacks are limited per address, tightly."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
import pytest

from recording import RecordingBus
from shahr.kernel.cache import MemoryCache, RateLimiter
from shahr.payments import queries, services
from shahr.payments.callback_pages import (
    CALLBACKS_PER_ADDRESS,
    CALLBACKS_PER_PAYMENT,
    FORGED_CALLBACKS_PER_ADDRESS,
    _within_limits,
)
from shahr.payments.domain import TooManyCallbacksError
from shahr.payments.gateways import SIGNATURE_FIELD, SandboxPsp, callback_key, sign_callback

from .flows import CITIZEN, count_rows, pay_at_bank, token_of

if TYPE_CHECKING:
    from shahr.bootstrap import Container
    from shahr.kernel.clock import FixedClock

AS_CITIZEN = {"x-test-citizen": CITIZEN}
HTML = {**AS_CITIZEN, "accept": "text/html"}


async def paid_callback(
    container: Container, clock: FixedClock, psp: SandboxPsp, bus: RecordingBus
) -> str:
    """A payment paid at the bank: the callback address its payer's browser is sent to."""
    start = await services.top_up_wallet(
        container.database, clock, psp, bus, citizen_id=CITIZEN, amount_rial=500_000
    )
    answer = await pay_at_bank(psp, token_of(start))
    assert answer.callback_url is not None
    return answer.callback_url


async def test_many_payers_behind_one_address_each_get_their_payment_confirmed(
    http: httpx.AsyncClient, container: Container, clock: FixedClock, psp: SandboxPsp,
    bus: RecordingBus,
) -> None:  # fmt: skip
    payers = FORGED_CALLBACKS_PER_ADDRESS + 10  # more than one address was once allowed
    callbacks = [await paid_callback(container, clock, psp, bus) for _ in range(payers)]

    answers = [await http.get(callback, headers=AS_CITIZEN) for callback in callbacks]

    assert {answer.status_code for answer in answers} == {303}
    assert all("payment_status=settled" in a.headers["location"] for a in answers)


async def test_one_payments_callback_repeated_past_its_limit_is_refused_in_persian_unread(
    http: httpx.AsyncClient, container: Container, clock: FixedClock, psp: SandboxPsp,
    bus: RecordingBus,
) -> None:  # fmt: skip
    callback = await paid_callback(container, clock, psp, bus)
    for _ in range(CALLBACKS_PER_PAYMENT):
        assert (await http.get(callback, headers=AS_CITIZEN)).status_code == 303

    refused = await http.get(callback, headers=HTML)

    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert "برای این پرداخت بیش از حد تأیید رسید" in refused.text
    assert await count_rows(container.database, "payments_callback") == CALLBACKS_PER_PAYMENT
    # Another payment from the same address is not held up by it.
    other = await paid_callback(container, clock, psp, bus)
    assert (await http.get(other, headers=AS_CITIZEN)).status_code == 303


async def test_forged_callbacks_from_one_address_are_refused_unread_but_its_payers_are_not(
    http: httpx.AsyncClient, container: Container, clock: FixedClock, psp: SandboxPsp,
    bus: RecordingBus,
) -> None:  # fmt: skip
    genuine = await paid_callback(container, clock, psp, bus)
    forged = re.sub(r"sig=[0-9a-f]+", "sig=" + "0" * 64, genuine)
    for _ in range(FORGED_CALLBACKS_PER_ADDRESS):
        assert (await http.get(forged, headers=AS_CITIZEN)).status_code == 400

    refused = await http.get(forged, headers=HTML)

    assert refused.status_code == 429
    assert "تأییدهای پرداخت بیش از حد از اتصال شما رسید" in refused.text
    # Refused unread: not recorded, not flagged, no money moved.
    assert await queries.flagged_callbacks(container.database) == FORGED_CALLBACKS_PER_ADDRESS
    assert await count_rows(container.database, "payments_entry") == 0
    # A payer behind the same address (carrier NAT) still gets their payment confirmed.
    confirmed = await http.get(genuine, headers=AS_CITIZEN)
    assert confirmed.status_code == 303
    assert "payment_status=settled" in confirmed.headers["location"]


async def test_one_address_is_refused_past_its_loose_limit_whatever_payments_it_names(
    container: Container, clock: FixedClock, psp: SandboxPsp
) -> None:
    limiter = RateLimiter(MemoryCache(clock))
    key = callback_key(container.settings.signing_key, psp.name)

    def signed_for(payment_id: str) -> dict[str, str]:
        fields = {"token": f"t-{payment_id}", "payment_id": payment_id, "status": "ok"}
        fields["amount_rial"] = "500000"
        return {**fields, SIGNATURE_FIELD: sign_callback(key, fields)}

    for number in range(CALLBACKS_PER_ADDRESS):
        await _within_limits(limiter, psp, "198.51.100.7", signed_for(f"p-{number}"))

    with pytest.raises(TooManyCallbacksError):
        await _within_limits(limiter, psp, "198.51.100.7", signed_for("p-last"))
    # Another address is not affected.
    await _within_limits(limiter, psp, "203.0.113.9", signed_for("p-last"))
