"""Payments' scheduled job: reconciliation, every minute (wired as a job in bootstrap)."""

from __future__ import annotations

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.payments import services
from shahr.payments.domain import ReconciliationReport
from shahr.payments.gateways import PaymentGateway

# Well inside the PSP's verify window, so an unverified payment is reversed on time.
RECONCILE_EVERY_S = 60.0


async def reconcile_payments(
    database: Database, clock: Clock, psp: PaymentGateway, bus: EventBus
) -> ReconciliationReport:
    """One reconciliation run; safe to run in several workers at once (each step locks)."""
    return await services.reconcile(database, clock, psp, bus)
