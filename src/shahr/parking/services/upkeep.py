"""Upkeep, the scheduled job: take missed payments, lapse holds, end stays, remind, refund."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shahr.kernel.clock import in_tehran
from shahr.parking.domain import (
    REMINDER_MIN_LEAD,
    BayId,
    ReminderLink,
    Reservation,
    ReservationStatus,
)
from shahr.parking.events import ReservationEnded
from shahr.parking.gateways import Notice
from shahr.parking.persistence import ReservationUnitOfWork
from shahr.parking.queries import InventorySnapshot
from shahr.parking.services.events import ended_event
from shahr.parking.services.payments import issue_refunds, take_verified_payment
from shahr.parking.services.ports import ParkingPorts, writing

log = logging.getLogger(__name__)

REMINDER = "reminder"
EXPIRED_REASON = "expired"
# A verified payment's event can be lost: a process can stop after payments commits the
# payment and before it publishes `PaymentVerified`, and the embedded stream keeps nothing
# across a restart (decision 0003). Each pass asks payments for what was verified lately
# and takes what parking never heard of, leaving the newest minute to the event itself.
MISSED_PAYMENTS_LOOKBACK = timedelta(hours=1)
MISSED_PAYMENTS_GRACE = timedelta(minutes=1)


def _(message: str) -> str:
    """Marks a message id kept as data, so the translation test finds it."""
    return message


REMINDER_MESSAGE = _(
    "Your parking on {street}, bay {bay}, ends at {time}. Extend it in the app if you need"
    " more time."
)
# The SMS carries a one-tap link to the reservation's extend step, good until the stay ends.
REMINDER_SMS = _("Your parking on {street}, bay {bay}, ends at {time}. To extend it: {link}")


@dataclass(frozen=True)
class UpkeepReport:
    lapsed: int
    extensions_dropped: int
    expired: int
    reminded: int
    refunds_issued: int
    missed_payments: int = 0


async def take_missed_payments(ports: ParkingPorts) -> int:
    """Take the verified payments whose event never reached parking; answers how many."""
    now = ports.clock.now()
    verified = await ports.payments.verified_payments(
        verified_from=now - MISSED_PAYMENTS_LOOKBACK, verified_to=now - MISSED_PAYMENTS_GRACE
    )
    async with ReservationUnitOfWork(ports.database) as uow:
        handled = await uow.records.handled_payments([p.payment_id for p in verified])
    missed = [p for p in verified if p.payment_id not in handled]
    taken = 0
    for payment in missed:
        try:
            outcome = await take_verified_payment(ports, payment)
        except Exception:  # logged; the next pass tries again
            log.exception("parking: could not take missed payment %s", payment.payment_id)
            continue
        if outcome != "duplicate":
            log.warning(
                "parking: payment %s for %s never arrived as an event; taken (%s)",
                payment.payment_id,
                payment.reference,
                outcome,
            )
            taken += 1
    return taken


@dataclass
class _Pass:
    """What one pass changed, and what it tells the bay lights and the citizens afterwards."""

    lapsed: int = 0
    dropped: int = 0
    ended: list[ReservationEnded] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


async def run_upkeep(
    ports: ParkingPorts, *, batch: int = 500, public_url: str = ""
) -> UpkeepReport:
    """One pass; safe in several processes at once (rows are locked, SKIP LOCKED).

    `public_url` is the site's address, put before the reminder SMS's link.
    """
    missed = await take_missed_payments(ports)
    now = ports.clock.now()
    snapshot = await ports.inventory.current()
    done = _Pass()
    async with writing(ports) as uow:
        due = await uow.reservations.due(
            now, reminder_before=ports.rules.policy.reminder_before, limit=batch
        )
        for reservation in due:
            await _look_after(ports, uow, snapshot, reservation, done, now=now)
            if done.notices and done.notices[-1].reservation_id == reservation.id:
                done.notices[-1] = _with_link(ports, done.notices[-1], reservation, public_url)
            await uow.reservations.save(reservation)
        await uow.commit()
    for event in done.ended:
        await ports.bus.publish(event)
    for notice in done.notices:
        try:
            await ports.notifier.notify(notice)
        except Exception as error:  # the in-app notice is kept; a lost SMS is only logged
            # Not the traceback: the SMS provider's error may quote the number or the text.
            log.error(
                "parking: could not send the reminder for %s (%s)",
                notice.reservation_id,
                type(error).__name__,
            )
    refunds = await issue_refunds(ports)
    return UpkeepReport(
        lapsed=done.lapsed,
        extensions_dropped=done.dropped,
        expired=len(done.ended),
        reminded=len(done.notices),
        refunds_issued=refunds,
        missed_payments=missed,
    )


async def _look_after(
    ports: ParkingPorts,
    uow: ReservationUnitOfWork,
    snapshot: InventorySnapshot,
    reservation: Reservation,
    done: _Pass,
    *,
    now: datetime,
) -> None:
    """Lapse an unpaid hold, drop an unpaid extension, end a stay that ran out, or remind."""
    if reservation.status is ReservationStatus.pending:
        reservation.lapse()
        done.lapsed += 1
        return
    if reservation.extension_pending and (
        reservation.hold_expires_at is None or now >= reservation.hold_expires_at
    ):
        reservation.drop_extension()
        done.dropped += 1
    if reservation.paid_ends_at <= now:
        reservation.expire()
        done.ended.append(
            ended_event(snapshot, reservation, reason=EXPIRED_REASON, at=reservation.paid_ends_at)
        )
    elif (
        reservation.reminder_sent_at is None
        and reservation.paid_ends_at - ports.rules.policy.reminder_before <= now
        # Booked with less than that left, the citizen has just chosen the end: no reminder.
        and reservation.paid_ends_at - reservation.created_at > REMINDER_MIN_LEAD
    ):
        reservation.reminder_sent_at = now
        done.notices.append(await _remind(uow, snapshot, reservation, now=now))


async def _remind(
    uow: ReservationUnitOfWork,
    snapshot: InventorySnapshot,
    reservation: Reservation,
    *,
    now: datetime,
) -> Notice:
    """The in-app reminder, written now; the SMS one goes after the commit."""
    meter, bay = snapshot.bays[BayId(reservation.bay_id)]
    params = {
        "street_fa": meter.street_fa,
        "street_en": meter.street_en,
        "bay": bay.number,
        "ends_at": reservation.paid_ends_at.isoformat(),
        "time": in_tehran(reservation.paid_ends_at).strftime("%H:%M"),
    }
    await uow.records.notify(
        citizen_id=reservation.citizen_id,
        reservation_id=reservation.id,
        kind=REMINDER,
        message=REMINDER_MESSAGE,
        params=params,
        now=now,
    )
    return Notice(reservation.citizen_id, reservation.id, REMINDER, REMINDER_MESSAGE, params)


def reminder_link(ports: ParkingPorts, reservation: Reservation, public_url: str = "") -> str:
    """The one-tap link to the reservation's extend step, signed, good until the stay ends."""
    token = ports.reminder_links.sign(ReminderLink(reservation.id, reservation.paid_ends_at))
    return f"{public_url.rstrip('/')}/parking/r/{token}"


def _with_link(
    ports: ParkingPorts, notice: Notice, reservation: Reservation, public_url: str
) -> Notice:
    """The SMS's notice: the in-app one's words and the link (never stored, never logged)."""
    params = {**notice.params, "link": reminder_link(ports, reservation, public_url)}
    return Notice(notice.citizen_id, notice.reservation_id, notice.kind, REMINDER_SMS, params)
