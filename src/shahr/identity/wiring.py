"""Identity's composition: the SMS gateway and the principal resolver the kernel's guard asks."""

from __future__ import annotations

from shahr.identity.api import make_principal_resolver
from shahr.identity.gateways import SMS, ConsoleSms, KavenegarSms, SmsGateway
from shahr.identity.pages.permits import PERMITS_PATH, REVIEWERS
from shahr.kernel.container import Container
from shahr.kernel.principals import Role
from shahr.kernel.workspace import StaffTool

ACCOUNTS_TOOL = "/staff/admin/accounts"
# The staff tools' names and summaries: msgids the staff shell translates as it lists them.
STAFF_TOOL_TITLES = {ACCOUNTS_TOOL: "Accounts", PERMITS_PATH: "Disability permits"}
STAFF_TOOL_HINTS = {
    ACCOUNTS_TOOL: "Staff accounts with their roles and lockouts, and citizens, searched.",
    PERMITS_PATH: "Approve or reject the permits citizens send for disabled bays.",
}


def wire_identity(container: Container) -> None:
    container.provide(SMS, _sms_gateway(container))
    container.resolve_principal = make_principal_resolver(container.database, container.clock)
    container.workspace.add(
        StaffTool(
            href=ACCOUNTS_TOOL,
            title=STAFF_TOOL_TITLES[ACCOUNTS_TOOL],
            summary=STAFF_TOOL_HINTS[ACCOUNTS_TOOL],
            roles=frozenset({Role.admin}),
            area="identity",
        )
    )
    # Served by identity (the permits are the vehicles'), used for parking's disabled bays.
    container.workspace.add(
        StaffTool(
            href=PERMITS_PATH,
            title=STAFF_TOOL_TITLES[PERMITS_PATH],
            summary=STAFF_TOOL_HINTS[PERMITS_PATH],
            roles=REVIEWERS,
            area="parking",
        )
    )


def _sms_gateway(container: Container) -> SmsGateway:
    """The SMS provider `SHAHR_SMS_PROVIDER` names."""
    settings = container.settings
    if settings.sms_provider == "kavenegar":
        kavenegar = KavenegarSms.from_settings(settings)
        container.background.append(kavenegar)  # so its connections close at shutdown
        return kavenegar
    # The console stands in for an SMS provider; the demo also keeps an outbox file so a
    # visitor (or a browser test) can read the code.
    outbox = settings.var_dir / "sms-outbox.jsonl" if settings.demo else None
    container.declare_sandbox(
        "the console SMS adapter (SHAHR_SMS_PROVIDER=console), which prints each text"
        " to the terminal"
    )
    # In production (a staging city that allowed the sandbox) the terminal's output is a
    # kept log: no number or code in it.
    reveal = settings.environment != "production"
    return ConsoleSms(outbox, clock=container.clock, reveal=reveal)
