"""`HandledHere`: a process's own record of the payments it took, for its own bus deliveries."""

from __future__ import annotations

import asyncio

from shahr.parking.services.ports import HandledHere


async def test_a_payment_this_process_never_took_goes_to_the_database() -> None:
    assert await HandledHere().was_handled("pay-1") is False


async def test_a_delivery_waits_for_the_request_taking_the_payment_and_hears_it_is_done() -> None:
    handled_here = HandledHere()
    handled_here.expect("pay-1")
    delivery = asyncio.create_task(handled_here.was_handled("pay-1"))
    await asyncio.sleep(0)
    assert not delivery.done()

    handled_here.handled("pay-1")
    handled_here.gave_up("pay-1")  # the request's `finally`: changes nothing once handled

    assert await delivery is True
    assert await handled_here.was_handled("pay-1") is True


async def test_a_request_that_failed_sends_its_waiting_delivery_to_the_database() -> None:
    handled_here = HandledHere()
    handled_here.expect("pay-1")
    delivery = asyncio.create_task(handled_here.was_handled("pay-1"))
    await asyncio.sleep(0)

    handled_here.gave_up("pay-1")

    assert await delivery is False


async def test_a_cancelled_delivery_leaves_the_answer_for_the_others() -> None:
    handled_here = HandledHere()
    handled_here.expect("pay-1")
    first = asyncio.create_task(handled_here.was_handled("pay-1"))
    second = asyncio.create_task(handled_here.was_handled("pay-1"))
    await asyncio.sleep(0)
    first.cancel()
    handled_here.handled("pay-1")

    assert await second is True


async def test_only_the_newest_payments_are_kept() -> None:
    handled_here = HandledHere(keep=2)
    for payment_id in ("pay-1", "pay-2", "pay-3"):
        handled_here.handled(payment_id)

    assert [await handled_here.was_handled(p) for p in ("pay-1", "pay-2", "pay-3")] == [
        False,
        True,
        True,
    ]
