"""Payments' composition: the PSP adapter and reconciliation."""

from __future__ import annotations

from shahr.kernel.container import Container
from shahr.kernel.principals import Role
from shahr.kernel.workspace import StaffTool
from shahr.payments.gateways import PSP, PaymentGateway, SandboxPsp, ZarinPalPsp
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
    psp = payment_gateway(container)
    container.provide(PSP, psp)
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


def payment_gateway(container: Container) -> PaymentGateway:
    """The PSP the settings choose (docs/decisions/0010, 0028); the sandbox says it is one."""
    settings = container.settings
    if settings.payment_provider == "zarinpal":
        merchant = settings.zarinpal_merchant_id
        assert merchant is not None  # noqa: S101  # the settings refuse zarinpal without it
        return ZarinPalPsp(
            merchant_id=merchant.get_secret_value().strip(),
            base_url=settings.zarinpal_base_url,
            public_url=settings.public_url,
            signing_key=lambda: settings.signing_key,
            timeout_s=settings.zarinpal_timeout_s,
        )
    container.declare_sandbox(
        "the sandbox bank, which takes test cards and no real money (SHAHR_PAYMENT_PROVIDER)"
    )
    return SandboxPsp(container.database, container.clock, signing_key=lambda: settings.signing_key)


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
