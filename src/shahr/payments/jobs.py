"""Payments' scheduled job: reconciliation, every minute, in `shahr worker`."""

from __future__ import annotations

import asyncio
import logging

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.payments import services
from shahr.payments.domain import ReconciliationReport
from shahr.payments.gateways import PaymentGateway

log = logging.getLogger(__name__)

# Well inside the PSP's verify window, so an unverified payment is reversed on time.
RECONCILE_EVERY_S = 60.0


async def reconcile_payments(
    database: Database, clock: Clock, psp: PaymentGateway, bus: EventBus
) -> ReconciliationReport:
    """One reconciliation run; safe to run in several workers at once (each step locks)."""
    return await services.reconcile(database, clock, psp, bus)


async def run_reconciliation(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    *,
    stop: asyncio.Event,
    every_s: float = RECONCILE_EVERY_S,
) -> None:
    """Reconcile every `every_s` seconds until `stop` is set; a failed run is logged, not fatal."""
    while not stop.is_set():
        try:
            await reconcile_payments(database, clock, psp, bus)
        except Exception:  # one bad run must not stop the next
            log.exception("payments: reconciliation run failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            continue
