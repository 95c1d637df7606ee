"""Parking's use cases, one function each, split by concept; this names what it exports."""

from shahr.parking.gateways import VerifiedPayment
from shahr.parking.services.booking import (
    ReservationStart,
    pay_reservation,
    reserve,
    start_card_payment,
)
from shahr.parking.services.events import (
    confirmed_event,
    ended_event,
    extended_event,
    extended_event_of,
)
from shahr.parking.services.geography import (
    AreaImportSummary,
    LoadSummary,
    import_district_areas,
    load_metro_stations,
    seed_approximate_districts,
)
from shahr.parking.services.inventory import (
    MeterImportSummary,
    import_meters,
    load_meters,
)
from shahr.parking.services.payments import (
    PARKING_PURPOSES,
    PaymentTaken,
    issue_refunds,
    pay_now,
    take_verified_payment,
    unused_payment_reason,
)
from shahr.parking.services.ports import (
    PARKING,
    ParkingPorts,
    quote_signer,
    shipped_holidays,
    shipped_rules,
    shipped_tariffs,
)
from shahr.parking.services.quotes import (
    MAX_STAY_ASKED_MIN,
    PriceChangedError,
    Quote,
    alternatives,
    ask_window,
    quote_bay,
    read_plate,
    vehicle_kind_of,
)
from shahr.parking.services.stays import (
    CANCELLED_REASON,
    ENDED_EARLY_REASON,
    StayChange,
    cancel_reservation,
    change_plate,
    end_reservation,
    extend_reservation,
)
from shahr.parking.services.upkeep import (
    EXPIRED_REASON,
    REMINDER,
    REMINDER_MESSAGE,
    UpkeepReport,
    run_upkeep,
)

__all__ = [
    "CANCELLED_REASON",
    "ENDED_EARLY_REASON",
    "EXPIRED_REASON",
    "MAX_STAY_ASKED_MIN",
    "PARKING",
    "PARKING_PURPOSES",
    "REMINDER",
    "REMINDER_MESSAGE",
    "AreaImportSummary",
    "LoadSummary",
    "MeterImportSummary",
    "ParkingPorts",
    "PaymentTaken",
    "PriceChangedError",
    "Quote",
    "ReservationStart",
    "StayChange",
    "UpkeepReport",
    "VerifiedPayment",
    "alternatives",
    "ask_window",
    "cancel_reservation",
    "change_plate",
    "confirmed_event",
    "end_reservation",
    "ended_event",
    "extend_reservation",
    "extended_event",
    "extended_event_of",
    "import_district_areas",
    "import_meters",
    "issue_refunds",
    "load_meters",
    "load_metro_stations",
    "pay_now",
    "pay_reservation",
    "quote_bay",
    "quote_signer",
    "read_plate",
    "reserve",
    "run_upkeep",
    "seed_approximate_districts",
    "shipped_holidays",
    "shipped_rules",
    "shipped_tariffs",
    "start_card_payment",
    "take_verified_payment",
    "unused_payment_reason",
    "vehicle_kind_of",
]
