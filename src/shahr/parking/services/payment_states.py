"""What payments says of a reservation's payments, and the rule it gives: no second payment
while the bank has not answered for the first (the card may have been debited already)."""

from __future__ import annotations

from shahr.kernel.clock import in_tehran
from shahr.parking.domain import PaymentInDoubtError
from shahr.parking.gateways import IN_DOUBT, PaymentState
from shahr.parking.services.ports import ParkingPorts


async def payment_states(ports: ParkingPorts, *, reservation_id: str) -> list[PaymentState]:
    """The reservation's payments, oldest first, as payments words where each stands."""
    return await ports.payments.payment_states(reference=reservation_id)


def in_doubt(states: list[PaymentState]) -> PaymentState | None:
    """The latest payment the bank has not answered for, if any."""
    return next((s for s in reversed(states) if s.standing == IN_DOUBT), None)


async def refuse_while_in_doubt(ports: ParkingPorts, *, reservation_id: str, doing: str) -> None:
    """Raise `PaymentInDoubtError` if a payment for the reservation awaits the bank.

    `doing` is `pay` or `cancel`: paying again could take the money twice, and cancelling
    would turn the bank's late yes into a refund the citizen was not told of.
    """
    waiting = in_doubt(await payment_states(ports, reservation_id=reservation_id))
    if waiting is None:
        return
    time = in_tehran(waiting.decided_by).strftime("%H:%M") if waiting.decided_by else ""
    if doing == "cancel":
        raise PaymentInDoubtError(
            "We are still checking with the bank about your payment, so this reservation"
            " cannot be cancelled yet. The bank answers by {time} at the latest.",
            field="method",
            time=time,
        )
    raise PaymentInDoubtError(
        "We are still checking with the bank about your payment for this reservation, so"
        " you cannot pay again. The bank answers by {time} at the latest.",
        field="method",
        time=time,
    )
