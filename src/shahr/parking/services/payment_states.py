"""What payments says of a reservation's payments, and the rule it gives: no second payment
while the bank has not answered for the first (the card may have been debited already)."""

from __future__ import annotations

from shahr.kernel.clock import in_tehran
from shahr.parking.domain import PaymentInDoubtError, ReservationStateError, not_found
from shahr.parking.gateways import IN_DOUBT, PaymentState
from shahr.parking.persistence import ReservationUnitOfWork
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


async def give_up_payment(ports: ParkingPorts, *, citizen_id: str, reservation_id: str) -> None:
    """The citizen did not finish paying at the bank: let that payment go, so the
    reservation can be paid another way while its hold lasts.

    Only a payment the bank has said nothing of; one it has answered for stays in doubt
    until reconciliation decides it (`PaymentInDoubtError`).
    """
    async with ReservationUnitOfWork(ports.database) as uow:
        reservation = await uow.reservations.get(reservation_id)
    if reservation is None or reservation.citizen_id != citizen_id:
        raise not_found()
    waiting = in_doubt(await payment_states(ports, reservation_id=reservation_id))
    if waiting is None:
        raise ReservationStateError("No payment for this reservation is waiting for the bank.")
    if not waiting.unanswered:
        raise PaymentInDoubtError(
            "The bank has already answered for this payment, so it cannot be let go; wait"
            " for it to be decided."
        )
    await ports.payments.give_up_payment(payment_id=waiting.payment_id, citizen_id=citizen_id)
