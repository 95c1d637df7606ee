"""Payments' composition: the PSP adapter and reconciliation."""

from __future__ import annotations

from shahr.kernel.container import Container
from shahr.kernel.principals import Role
from shahr.kernel.workspace import StaffTool
from shahr.payments.gateways import PSP, PaymentGateway, SandboxPsp
from shahr.payments.jobs import RECONCILE_EVERY_S, reconcile_payments
from shahr.payments.staff_pages import RECONCILERS, STAFF_PAYMENTS

SANDBOX_CONSOLE = "/sandbox-psp"
# The staff tools' names and summaries: msgids the staff shell translates as it lists them.
STAFF_TOOL_TITLES = {
    SANDBOX_CONSOLE: "Sandbox bank",
    STAFF_PAYMENTS: "Payments and reconciliation",
}
STAFF_TOOL_HINTS = {
    SANDBOX_CONSOLE: (
        "The test bank's desk: take it down or bring it back, and its latest payments."
    ),
    STAFF_PAYMENTS: "Every payment by where it stands: in doubt, paid, not paid, returned or"
    " refunded, and whether the ledger booked it.",
}


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
    container.declare_sandbox("the sandbox bank, which takes test cards and no real money")
    container.workspace.add(
        StaffTool(
            href=STAFF_PAYMENTS,
            title=STAFF_TOOL_TITLES[STAFF_PAYMENTS],
            summary=STAFF_TOOL_HINTS[STAFF_PAYMENTS],
            roles=RECONCILERS,
            area="payments",
        )
    )
    list_sandbox_console(container, psp)
    if settings.run_jobs:
        container.every(
            "payments-reconciliation",
            RECONCILE_EVERY_S,
            lambda: reconcile_payments(database, clock, psp, bus),
        )


def list_sandbox_console(container: Container, psp: PaymentGateway) -> None:
    """List the sandbox bank's console among the admin's tools, only where the sandbox is the
    bank and never in production (a real city's staff must not be offered a test bank)."""
    if isinstance(psp, SandboxPsp) and container.settings.environment != "production":
        container.workspace.add(
            StaffTool(
                href=SANDBOX_CONSOLE,
                title=STAFF_TOOL_TITLES[SANDBOX_CONSOLE],
                summary=STAFF_TOOL_HINTS[SANDBOX_CONSOLE],
                roles=frozenset({Role.admin}),
                area="payments",
            )
        )
