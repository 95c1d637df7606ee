"""What a booking must never break, read from the database: holds, the books, the money.

Shared by the tests that drive bookings in many orders (`test_booking_invariants.py`); each
reading changes nothing, so it can run after every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from sqlalchemy import text

from shahr.kernel.db import Database
from shahr.parking import services
from shahr.parking.domain import Reservation, TimeWindow
from shahr.parking.persistence import Hold
from shahr.payments.domain import wallet_account
from shahr.payments.persistence import PaymentsUnitOfWork

PAID = ("verified", "settled")


def overlapping_holds(
    reservations: list[Reservation], *, now: datetime
) -> list[tuple[int, str, str]]:
    """Pairs of reservations holding one bay for overlapping times at `now` (bay, ids).

    A reservation holds its bay as `Hold.held` says: pending with its hold still running,
    or confirmed (a lapsed extension no longer counts).
    """
    held: dict[int, list[tuple[str, TimeWindow]]] = {}
    for reservation in reservations:
        window = _hold(reservation).held(now)
        if window is not None:
            held.setdefault(reservation.bay_id, []).append((reservation.id, window))
    return [
        (bay_id, first[0], second[0])
        for bay_id, holds in held.items()
        for first, second in combinations(holds, 2)
        if first[1].overlaps(second[1])
    ]


def _hold(reservation: Reservation) -> Hold:
    return Hold(
        reservation_id=reservation.id,
        bay_id=reservation.bay_id,
        meter_id=reservation.meter_id,
        status=reservation.status,
        starts_at=reservation.starts_at,
        ends_at=reservation.ends_at,
        extension_from=reservation.extension_from,
        hold_expires_at=reservation.hold_expires_at,
    )


@dataclass(frozen=True)
class Books:
    unbalanced: list[str]
    mismatched: list[str]
    total: int
    wallets: dict[str, int]


async def read_books(database: Database) -> Books:
    """What reconciliation checks, read without changing anything."""
    async with PaymentsUnitOfWork(database) as uow:
        wallet = wallet_account("")
        return Books(
            unbalanced=list(await uow.ledger.unbalanced_transactions()),
            mismatched=list(await uow.ledger.cached_balance_mismatches()),
            total=await uow.ledger.books_total(),
            wallets={
                account: balance
                for account, balance in (await uow.ledger.derived_balances()).items()
                if account.startswith(wallet)
            },
        )


@dataclass(frozen=True)
class ParkingMoney:
    paid: int  # verified payments for reservations and extensions
    confirmed: int  # what reservations took as paid
    unused: int  # payments that confirmed nothing, owed back whole
    owed_back: int  # every refund parking owes
    refunded: int  # every refund payments made
    refunded_past_paid: list[str]  # reservations that gave back more than they took


PARKING_MONEY = f"""
    SELECT
      (SELECT COALESCE(SUM(amount_rial), 0) FROM payments_order
        WHERE status IN {PAID} AND purpose IN ('reservation', 'extension')),
      (SELECT COALESCE(SUM(paid_rial), 0) FROM parking_reservation),
      (SELECT COALESCE(SUM(amount_rial), 0) FROM parking_refund WHERE reason LIKE :unused),
      (SELECT COALESCE(SUM(amount_rial), 0) FROM parking_refund),
      (SELECT COALESCE(SUM(amount_rial), 0) FROM payments_refund)
"""  # noqa: S608  # constants only
REFUNDED_PAST_PAID = """
    SELECT r.id FROM parking_reservation r
    WHERE r.refunded_rial > r.paid_rial
       OR (SELECT COALESCE(SUM(f.amount_rial), 0) FROM parking_refund f
            WHERE f.reservation_id = r.id AND f.reason NOT LIKE :unused) > r.paid_rial
"""


async def parking_money(database: Database) -> ParkingMoney:
    unused = services.unused_payment_reason("") + "%"
    async with database.session() as session:
        row = (await session.execute(text(PARKING_MONEY), {"unused": unused})).one()
        past = await session.scalars(text(REFUNDED_PAST_PAID), {"unused": unused})
        paid, confirmed, unused_rial, owed_back, refunded = (int(v) for v in row)
        return ParkingMoney(
            paid, confirmed, unused_rial, owed_back, refunded, refunded_past_paid=list(past)
        )
