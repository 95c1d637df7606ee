"""Payments' composition: the PSP adapter and reconciliation."""

from __future__ import annotations

from shahr.kernel.container import Container
from shahr.payments.gateways import PSP, SandboxPsp
from shahr.payments.jobs import RECONCILE_EVERY_S, reconcile_payments


def wire_payments(container: Container) -> None:
    settings, database, clock, bus = (
        container.settings,
        container.database,
        container.clock,
        container.bus,
    )
    # The sandbox PSP is the only adapter so far (docs/decisions/0010).
    psp = SandboxPsp(database, clock, signing_key=lambda: settings.signing_key)
    container.provide(PSP, psp)
    if settings.run_jobs:
        container.every(
            "payments-reconciliation",
            RECONCILE_EVERY_S,
            lambda: reconcile_payments(database, clock, psp, bus),
        )
