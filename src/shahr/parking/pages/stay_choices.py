"""What a citizen may do with a stay, worked out for a page: extend to which ends for how
much, what ending now gives back, how long is left, and the receipts (My parking and the
reservation page show the same)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shahr.kernel.web import i18n
from shahr.parking.domain import (
    InvalidWindowError,
    TimeWindow,
    check_open,
    check_stay_length,
    end_early_refund,
)
from shahr.parking.pages.forms import STEP_MIN, digits
from shahr.parking.queries import ReservationView
from shahr.parking.services import ParkingPorts

EXTENSION_CHOICES = 8


@dataclass(frozen=True)
class ExtensionChoice:
    ends_at: datetime
    extra_rial: int


def extension_choices(
    view: ReservationView, ports: ParkingPorts, *, now: datetime
) -> list[ExtensionChoice]:
    """Later ends in half-hour steps, each with the extra to pay; within hours and max stay.

    Someone else's later booking is found only when extending (the service says how far).
    """
    r = view.reservation
    tariff = ports.rules.tariffs.version(r.tariff_version)
    choices = []
    for step in range(1, EXTENSION_CHOICES + 1):
        ends_at = r.paid_ends_at + timedelta(minutes=STEP_MIN * step)
        window = TimeWindow(r.starts_at, ends_at)
        try:
            check_open(window, view.zone.rules, ports.rules.holidays)
            check_stay_length(window.duration_min, view.zone.rules)
        except InvalidWindowError:
            break
        price = tariff.price(window.duration_min, r.vehicle_kind, r.street_class)
        choices.append(ExtensionChoice(ends_at, max(0, price.total_rial - r.amount_rial)))
    return choices if now < r.paid_ends_at else []


def end_refund(view: ReservationView, ports: ParkingPorts, *, now: datetime) -> int:
    """What ending the stay now gives back: the unused whole half-hours."""
    r = view.reservation
    tariff = ports.rules.tariffs.version(r.tariff_version)
    return end_early_refund(r, tariff, ports.rules.policy, at=now)


def time_left(until: datetime, now: datetime) -> str:
    """`12 minutes left`, `1 h 05 min left`: a span, never to be read as a clock time."""
    minutes = max(0, int((until - now).total_seconds() // 60))
    hours, rest = divmod(minutes, 60)
    if hours == 0:
        if rest == 1:
            return i18n.gettext("1 minute left")
        return i18n.gettext("{minutes} minutes left", minutes=rest)
    # Two digits for the minutes, so "1 h 05 min" is not misread; the digits follow the page.
    return i18n.gettext("{hours} h {minutes} min left", hours=hours, minutes=digits(f"{rest:02d}"))


def receipts_of(view: ReservationView) -> list[dict[str, Any]]:
    return [
        {
            "payment_id": p.payment_id,
            "purpose": p.purpose,
            "amount_rial": p.amount_rial,
            "verified_at": p.verified_at,
            "page": f"/payments/{p.payment_id}/receipt",
        }
        for p in view.payments
        if p.outcome in ("confirmed", "extended")
    ]
